#!/usr/bin/env bash
# Closing a month's statements (statement_close) for an org with 1M paid rows in the month against
# one with 10k, and what a text of the org being written meanwhile waits: fresh database
# (phonehub_bench, or BENCH_DATABASE_URL), SQL only. Each org has 20 members; the rows are spread
# over them: 40 % texts, 30 % calls (a third recorded), 30 % lookups (a third from the cache).
# Prints the close's time, rows per second and the ratio of the times (10k vs 1M), and the insert's
# latency during the big close.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/db.sh start >/dev/null
base=$(scripts/db.sh url phonehub)
base=${base%/*}
export DATABASE_URL=${BENCH_DATABASE_URL:-$base/phonehub_bench}
cargo run -q -p dbctl -- reset
q() { psql "$DATABASE_URL" -qtAX -v ON_ERROR_STOP=1 "$@"; }

# One org of `$2` rows, created two months ago (UTC), its rows last month.
make_org() {
  local slug=$1 n=$2
  q <<SQL
INSERT INTO orgs (slug, name, time_zone, created_at, closed_through)
VALUES ('$slug', '$slug', 'UTC', date_trunc('month', now()) - interval '40 days',
        (date_trunc('month', now()) - interval '2 months')::date);
INSERT INTO users (email, password_hash)
SELECT '$slug-' || i || '@bench.test', 'x' FROM generate_series(1, 20) i;
INSERT INTO memberships (org_id, user_id, role)
SELECT o.id, u.id, 'member' FROM orgs o, users u WHERE o.slug = '$slug' AND u.email LIKE '$slug-%';
CREATE TEMP TABLE m AS SELECT u.id, row_number() OVER () - 1 AS k FROM users u WHERE u.email LIKE '$slug-%';
INSERT INTO messages (org_id, user_id, direction, our_e164, other_e164, body, segments, encoding,
                      status, cost_micros, created_at)
SELECT o.id, m.id, 'outbound', '+14155550100', '+1415555' || lpad((i % 10000)::text, 4, '0'), 'Hello',
       1 + i % 2, 'gsm7', 'delivered', 7900 * (1 + i % 2),
       date_trunc('month', now()) - interval '1 month' + (i % 2400000) * interval '1 second'
FROM orgs o, generate_series(1, ($n * 4 / 10)::int) i JOIN m ON m.k = i % 20 WHERE o.slug = '$slug';
INSERT INTO calls (org_id, user_id, direction, from_e164, to_e164, status, duration_secs, cost_micros,
                   recording_count, recording_minutes, recording_cost_micros, created_at)
SELECT o.id, m.id, 'outbound', '+14155550100', '+14155550188', 'completed', 30 + i % 300,
       8500 * ((30 + i % 300 + 59) / 60), (i % 3 = 0)::int, CASE WHEN i % 3 = 0 THEN (30 + i % 300 + 59) / 60 ELSE 0 END,
       CASE WHEN i % 3 = 0 THEN 2500 * ((30 + i % 300 + 59) / 60) ELSE 0 END,
       date_trunc('month', now()) - interval '1 month' + (i % 2400000) * interval '1 second'
FROM orgs o, generate_series(1, ($n * 3 / 10)::int) i JOIN m ON m.k = i % 20 WHERE o.slug = '$slug';
INSERT INTO lookup_events (org_id, user_id, e164, outcome, cost_micros, saved_micros, created_at)
SELECT o.id, m.id, '+1415555' || lpad((i % 10000)::text, 4, '0'),
       CASE WHEN i % 3 = 0 THEN 'hit' ELSE 'miss' END, CASE WHEN i % 3 = 0 THEN 0 ELSE 5000 END,
       CASE WHEN i % 3 = 0 THEN 5000 ELSE 0 END,
       date_trunc('month', now()) - interval '1 month' + (i % 2400000) * interval '1 second'
FROM orgs o, generate_series(1, ($n * 3 / 10)::int) i JOIN m ON m.k = i % 20 WHERE o.slug = '$slug';
SQL
  # The statements worker is not running: nothing closes the month but this script.
  q -c "ANALYZE"
}

# Seconds the close of last month takes for `$1`.
close_org() {
  q <<SQL | tail -1
\timing on
SELECT statement_close(id, (date_trunc('month', now()) - interval '1 month')::date, now())
FROM orgs WHERE slug = '$1';
SQL
}

echo "making an org with 10k rows and one with 1M rows (a few minutes)..."
make_org small 10000
make_org big 1000000
small=$(close_org small)
echo "10k rows: $small"

# A text of the big org written while its close runs: it must not wait for the close.
(
  sleep 1
  q <<SQL
\timing on
INSERT INTO messages (org_id, direction, our_e164, other_e164, body, segments, encoding, cost_micros)
SELECT id, 'outbound', '+14155550100', '+14155550199', 'During the close', 1, 'gsm7', 7900 FROM orgs WHERE slug = 'big';
SQL
) >/tmp/phonehub-bench-insert.txt &
writer=$!
big=$(close_org big)
wait $writer
echo "1M rows: $big"
ms() { sed -E 's/^Time: ([0-9.]+) ms.*/\1/' <<<"$1"; }
python3 - "$(ms "$small")" "$(ms "$big")" "$(grep -E '^Time' /tmp/phonehub-bench-insert.txt | tail -1)" <<'PY'
import sys
small, big, insert = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
print(f"close of 10k rows: {small:.0f} ms ({10_000 / small * 1000:,.0f} rows/s)")
print(f"close of 1M rows:  {big:.0f} ms ({1_000_000 / big * 1000:,.0f} rows/s); ratio {big / small:.1f}x for 100x the rows")
print(f"a text of the big org written during its close: {insert}")
PY
q -c "SELECT s.member_email IS NULL AS org, count(*), sum(l.micros) FROM statements s JOIN statement_lines l ON l.statement_id = s.id JOIN orgs o ON o.id = s.org_id WHERE o.slug = 'big' GROUP BY 1 ORDER BY 1"
