"""The packet witness: every IP packet sent on the namespace's loopback, as the wire sees it (an AF_PACKET socket,
root inside the namespace the test made). A socket option can make a packet for an allowed address leave towards
another one without any listener there noticing (an IPv6 segment routing header is dropped on arrival), so the
witness for socket-option attacks records where each packet was actually sent.

usage: sniff.py   (prints {"ready": true}, then one {"dst", "src", "proto", "udp"} line per outgoing packet; "udp" is
the payload of an IPv4/IPv6 UDP datagram without extension headers, as text)
"""

from __future__ import annotations

import json
import socket
import struct
import sys

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main() -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind(("lo", 0))
    print(json.dumps({"ready": True}), flush=True)
    while True:
        frame, addr = s.recvfrom(65535)
        if addr[2] != PACKET_OUTGOING or len(frame) < 14:
            continue
        ethertype = struct.unpack(">H", frame[12:14])[0]
        ip = frame[14:]
        out: dict[str, object] = {}
        if ethertype == 0x0800 and len(ip) >= 20:
            ihl = (ip[0] & 0x0F) * 4
            out = {"dst": socket.inet_ntoa(ip[16:20]), "src": socket.inet_ntoa(ip[12:16]), "proto": ip[9]}
            if ip[9] == 17 and len(ip) >= ihl + 8:
                out["udp"] = ip[ihl + 8 :].decode("latin-1")
        elif ethertype == 0x86DD and len(ip) >= 40:
            out = {
                "dst": socket.inet_ntop(socket.AF_INET6, ip[24:40]),
                "src": socket.inet_ntop(socket.AF_INET6, ip[8:24]),
                "proto": ip[6],
            }
            if ip[6] == 17 and len(ip) >= 48:
                out["udp"] = ip[48:].decode("latin-1")
        else:
            continue
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
