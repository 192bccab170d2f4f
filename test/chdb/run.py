"""Runs SQL on a current ClickHouse engine in-process (chdb) for the cross-version test.

Reads JSON from stdin: {"statements": [sql, ...], "queries": {"name": sql, ...}}; runs the
statements in order (DDL, INSERT ... FORMAT JSONEachRow with inline data), then each query,
and prints {"version": ..., "results": {"name": {"rows": [...]} | {"error": "..."}}} as JSON.
"""
import json
import sys
import tempfile

from chdb import session


def main() -> None:
    job = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as path:
        sess = session.Session(path)
        version = str(sess.query("SELECT version()", "CSV")).strip().strip('"')
        for statement in job["statements"]:
            try:
                sess.query(statement)
            except Exception as err:  # report which statement failed, then stop
                print(json.dumps({"version": version, "failed_statement": statement, "error": str(err)}))
                return
        results = {}
        for name, sql in job["queries"].items():
            try:
                text = str(sess.query(sql, "JSONEachRow"))
                results[name] = {"rows": [json.loads(line) for line in text.splitlines() if line.strip()]}
            except Exception as err:
                results[name] = {"error": str(err)}
        sess.close()
        print(json.dumps({"version": version, "results": results}))


if __name__ == "__main__":
    main()
