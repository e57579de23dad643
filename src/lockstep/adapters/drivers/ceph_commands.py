"""A helper process that runs mon and mgr commands on one RADOS connection: started by cephclient.py with
the interpreter Debian built python3-rados for (/usr/bin/python3), never imported by Lockstep.

    /usr/bin/python3 ceph_commands.py CONF CLIENT_ID [KEYRING]

stdin: one JSON object per line, {"target": "mon" | "mgr", "cmd": {"prefix": ..., ...}, "timeout": s}.
stdout: one JSON object per line, {"ret": <0 or -errno>, "out": "...", "err": "..."}. The first line
says whether the connection was made: {"ready": true} or {"ready": false, "err": "..."}.

Why a process of its own: a `ceph` command per mgr call costs ~0.2 s idle and 0.7 s on a busy host
(a Python start and a fresh connection), where a command on a held connection costs 3-10 ms plus the
mgr's own work; and python3-rados is built for Debian's interpreter only, not for Lockstep's virtualenv.
This file uses the standard library and `rados` alone.
"""

import json
import sys


def main() -> int:
    conf, client_id = sys.argv[1], sys.argv[2]
    keyring = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    try:
        import rados  # type: ignore[import-not-found]

        options = {"keyring": keyring} if keyring else {}
        cluster = rados.Rados(conffile=conf, rados_id=client_id, conf=options)
        cluster.connect(timeout=60)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it as a DriverError
        print(json.dumps({"ready": False, "err": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            request = json.loads(line)
            send = cluster.mgr_command if request["target"] == "mgr" else cluster.mon_command
            ret, out, err = send(json.dumps(request["cmd"]), b"", timeout=int(request.get("timeout", 120)))
            reply = {"ret": ret, "out": out.decode("utf-8", "replace"), "err": err}
        except Exception as exc:  # noqa: BLE001 - one failed command is an answer, not the end of the helper
            reply = {"ret": -5, "out": "", "err": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
