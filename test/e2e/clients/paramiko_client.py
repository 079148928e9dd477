"""Drives paramiko's SFTPClient for the client matrix (test/e2e/clients-libs.test.ts).

usage: paramiko_client.py PORT USER (password:PW | key:FILE) PHASE DIR LOCAL_UP LOCAL_DOWN MTIME
phase 1: mkdir DIR, put LOCAL_UP -> DIR/f.bin, utime, listdir, rename to DIR/g.bin
phase 2: get DIR/g.bin -> LOCAL_DOWN (with the remote mtime), remove, rmdir
Prints one JSON line: the listing, the remote mtime, paramiko's version.
"""
import json
import os
import sys

import paramiko

port, user, cred, phase, d, up, down, mtime = sys.argv[1:9]
t = paramiko.Transport(("127.0.0.1", int(port)))
t.start_client(timeout=30)
if cred.startswith("password:"):
    t.auth_password(user, cred[len("password:"):])
else:
    t.auth_publickey(user, paramiko.PKey.from_path(cred[len("key:"):]))
sftp = paramiko.SFTPClient.from_transport(t)
out = {"version": paramiko.__version__}
if phase == "1":
    sftp.mkdir(d)
    sftp.put(up, f"{d}/f.bin")
    sftp.utime(f"{d}/f.bin", (int(mtime), int(mtime)))
    out["listing"] = sftp.listdir(d)
    sftp.rename(f"{d}/f.bin", f"{d}/g.bin")
else:
    st = sftp.stat(f"{d}/g.bin")
    out["mtime"] = st.st_mtime
    sftp.get(f"{d}/g.bin", down)
    os.utime(down, (st.st_atime, st.st_mtime))
    sftp.remove(f"{d}/g.bin")
    sftp.rmdir(d)
sftp.close()
t.close()
print(json.dumps(out))
