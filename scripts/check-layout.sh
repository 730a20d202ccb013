#!/usr/bin/env bash
# The rooms of the code stay small and obvious (docs/ARCHITECTURE.md):
#  - no file under src/ over 600 lines;
#  - no diesel query in src/service/ (queries live in src/store/; services call named store
#    functions and use diesel only for the connection type, transactions and error values);
#  - no code line in src/service/ or src/store/ over 100 columns (rustfmt formatted everything:
#    only string literals, attributes and comments may run longer).
set -euo pipefail
cd "$(dirname "$0")/.."
failed=0

while read -r lines file; do
    if [ "$file" != total ] && [ "$lines" -gt 600 ]; then
        echo "$file: $lines lines (at most 600: split it by concern)"
        failed=1
    fi
done < <(find src -name '*.rs' -print0 | xargs -0 wc -l)

query_dsl='store::schema|diesel::prelude|diesel::(insert_into|update|delete|dsl|alias|sql_query)|\.into_boxed\(|inner_join|left_join|\.load(::<[^>]*>)?\(|\.get_result|\.first(::<[^>]*>)?\(conn'
if grep -rnE "$query_dsl" src/service; then
    echo "src/service/ writes diesel queries: move them to a named function in src/store/"
    failed=1
fi

long=$(find src/service src/store -name '*.rs' -print0 | xargs -0 awk '
    length > 100 {
        line = $0; sub(/^[ \t]+/, "", line)
        if (line !~ /^("|r"|r#"|#\[|\/\/)/) print FILENAME ":" FNR ": " length " columns"
    }')
if [ -n "$long" ]; then
    echo "$long"
    echo "code lines over 100 columns in src/service or src/store: rustfmt gave up on them; split them"
    failed=1
fi

if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "layout: every file under 600 lines, no query outside src/store, nothing rustfmt skipped"
