#!/bin/sh
# Checks deploy/grafana/egd.json and deploy/prometheus.yml:
#  - the dashboard is valid JSON with the expected shape (schemaVersion >= 36,
#    every panel/query on the ${DS_PROMETHEUS} datasource, unique panel ids);
#  - every PromQL expression in it (panel queries and the selectors of the
#    label_values() variables, with Grafana's $variables replaced by sample
#    values) parses: they go into a temporary rules file for `promtool check rules`;
#  - `promtool check config` accepts deploy/prometheus.yml.
# promtool (Debian: apt-get install prometheus) is optional: without it only
# the JSON checks run. Nothing is started and nothing leaves this machine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dash="$here/egd.json"
prom="$here/../prometheus.yml"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 -m json.tool "$dash" >/dev/null
echo "ok: $dash is valid JSON"

python3 - "$dash" "$tmp/rules.yml" <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
errors = []
if dash.get("schemaVersion", 0) < 36:
    errors.append("schemaVersion < 36")
if not any(i.get("name") == "DS_PROMETHEUS" for i in dash.get("__inputs", [])):
    errors.append("no DS_PROMETHEUS input")
variables = {v["name"]: v for v in dash["templating"]["list"]}
for need in ("DS_PROMETHEUS", "instance"):
    if need not in variables:
        errors.append(f"no template variable {need}")
DS = "${DS_PROMETHEUS}"

def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))

exprs, ids = [], set()
for p in panels(dash["panels"]):
    if p["id"] in ids:
        errors.append(f"duplicate panel id {p['id']}")
    ids.add(p["id"])
    if p["type"] == "row":
        continue
    if p.get("datasource", {}).get("uid") != DS:
        errors.append(f"panel {p['title']!r}: datasource is not {DS}")
    if not p.get("targets"):
        errors.append(f"panel {p['title']!r}: no query")
    for t in p.get("targets", []):
        if t.get("datasource", {}).get("uid") != DS:
            errors.append(f"panel {p['title']!r} query {t['refId']}: datasource is not {DS}")
        exprs.append((f"{p['title']} [{t['refId']}]", t["expr"]))
for v in variables.values():
    if v["type"] == "query":
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"label_values\((.*),\s*\w+\)", q)
        if not m:
            errors.append(f"variable {v['name']}: unexpected query {q!r}")
            continue
        exprs.append((f"variable {v['name']}", m.group(1)))

# Grafana's variables -> values promtool can parse.
subst = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h",
         "$job": "egd", "$role": ".*", "$instance": ".*"}
def plain(e):
    for k in sorted(subst, key=len, reverse=True):
        e = e.replace("${" + k[1:] + "}", subst[k]).replace(k, subst[k])
    if "$" in e:
        errors.append(f"unsubstituted variable in {e!r}")
    return e

with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: egd_dashboard_check\n    rules:\n")
    for i, (where, e) in enumerate(exprs):
        f.write(f"      # {where}\n      - record: egd_dashboard_check:expr{i}\n"
                f"        expr: {json.dumps(plain(e))}\n")
if errors:
    sys.exit("\n".join("error: " + e for e in errors))
print(f"ok: dashboard shape; {len(exprs)} PromQL expressions extracted")
PY

if command -v promtool >/dev/null 2>&1; then
    promtool check rules "$tmp/rules.yml"
    promtool check config "$prom"
else
    echo "skip: promtool not installed (Debian: apt-get install prometheus); PromQL and prometheus.yml not checked"
fi
