"""Prints TCP_NODELAY (0 or 1) of each of process PID's TCP sockets connected to PORT.

The judge of `kit::db` test `postgres_tcp_connections_have_nodelay`: Rust code here may not
wrap a raw file descriptor (`unsafe_code = "forbid"`), so this script copies the test
process's sockets with pidfd_getfd(2) (Linux 5.6+, needs ptrace rights over PID: the same
user with ptrace_scope 0, or root) and reads the option back with getsockopt(2).
Usage: python3 socket_nodelay.py PID PORT. Exit 2 when no such socket is found, 3 without
the rights to copy sockets (EPERM).
"""

import ctypes
import errno
import os
import socket
import sys

SYS_PIDFD_GETFD = 438  # the same number on x86_64 and aarch64

pid, port = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
found = 0
for name in os.listdir(f"/proc/{pid}/fd"):
    try:
        target = os.readlink(f"/proc/{pid}/fd/{name}")
    except OSError:
        continue
    if not target.startswith("socket:"):
        continue
    fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
    if fd < 0:
        err = ctypes.get_errno()
        print(f"pidfd_getfd({name}): {os.strerror(err)}", file=sys.stderr)
        sys.exit(3 if err == errno.EPERM else 1)
    s = socket.socket(fileno=fd)
    try:
        if s.family in (socket.AF_INET, socket.AF_INET6) and s.type == socket.SOCK_STREAM:
            try:
                peer_port = s.getpeername()[1]
            except OSError:
                continue
            if peer_port == port:
                found += 1
                print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) and 1)
    finally:
        s.close()
if found == 0:
    sys.exit(2)
