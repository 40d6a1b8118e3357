#!/usr/bin/env sh
# Validation in shell pipelines: `structgen example` writes instances of a schema, `structgen
# validate` checks documents; neither loads a model. Exit codes drive the control flow:
#   structgen validate: 0 all valid, 1 some invalid, 2 unreadable input or bad schema
#   structgen example:  0 printed, 2 bad/unsupported/unsatisfiable schema
# Run from anywhere: sh examples/validate_pipeline.sh  (STRUCTGEN=path/to/structgen to override)
set -u
here=$(cd "$(dirname "$0")" && pwd)
structgen=${STRUCTGEN:-"$here/../.venv/bin/structgen"}
[ -x "$structgen" ] || structgen=structgen
schema="$here/schemas/person.json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2

echo "1. the minimal instance, piped straight into the validator (tee keeps a copy):"
"$structgen" example --schema "$schema" | tee one.json | "$structgen" validate --schema "$schema" -
cat one.json

echo "2. five random instances as JSON Lines, validated line by line (-q: problems only):"
"$structgen" example --schema "$schema" --count 5 --seed 42 > people.jsonl
cat people.jsonl
if "$structgen" validate -q --schema "$schema" --jsonl people.jsonl; then
    echo "all 5 valid"
fi

echo "3. a broken document: exit status 1 and one line per problem:"
printf '{"name": "", "born": 3000}\n' > bad.json
"$structgen" validate --schema "$schema" bad.json
echo "exit status $?"

echo "4. && and || on the exit status:"
"$structgen" validate -q --schema "$schema" one.json && echo "one.json: ok"
"$structgen" validate -q --schema "$schema" bad.json || echo "bad.json: rejected"

echo "5. an unsatisfiable schema: nothing on stdout, a message on stderr, exit status 2:"
echo '{"type": "integer", "minimum": 5, "maximum": 3}' > impossible.json
"$structgen" example --schema impossible.json 2>&1
echo "exit status $?"
