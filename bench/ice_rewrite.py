"""Rewrite ICE candidates in SDP so a client's media goes through the shaping relay.

The client rewrites the server's candidates it receives to relay addresses (`Link.route`), and the
candidates it sends to the server to the relay's server-facing addresses (`Link.expose`). Each side
then only ever sees the relay: no direct path can be validated and nominated behind its back. (Rewriting
only the server's candidates would also work, the server learning the relay as peer-reflexive, but if
the server's own checks reach the client's real address first, media bypasses the relay.)

Candidates that are not UDP, or that the translation declines (returns None), are removed.
"""

from __future__ import annotations

from collections.abc import Callable

Addr = tuple[str, int]
Translate = Callable[[Addr], Addr | None]


class SdpError(ValueError):
    """A candidate line that does not follow RFC 8839's grammar."""


def _parse(candidate: str) -> tuple[list[str], Addr, bool]:
    """Split a candidate attribute value into fields; return them, its address, and whether it is UDP."""
    fields = candidate.split()
    if len(fields) < 8 or fields[6] != "typ":
        raise SdpError(f"malformed candidate: {candidate!r}")
    try:
        port = int(fields[5])
    except ValueError:
        raise SdpError(f"malformed candidate port: {candidate!r}") from None
    return fields, (fields[4], port), fields[2].lower() == "udp"


def rewrite_candidate(candidate: str, translate: Translate) -> str | None:
    """One candidate (`candidate:…`, with or without `a=`) pointed at the translated address, or None."""
    prefix = ""
    for head in ("a=candidate:", "candidate:"):
        if candidate.startswith(head):
            prefix, candidate = head, candidate[len(head) :]
            break
    fields, addr, udp = _parse(candidate)
    new = translate(addr) if udp else None
    if new is None:
        return None
    fields[4], fields[5] = new[0], str(new[1])
    if "raddr" in fields:  # the related address would only leak the real one
        at = fields.index("raddr")
        del fields[at : at + 4]
    return prefix + " ".join(fields)


def candidate_addresses(sdp: str) -> list[Addr]:
    """UDP candidate addresses in an SDP, in order, without repeats."""
    found: list[Addr] = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            _, addr, udp = _parse(line[len("a=candidate:") :])
            if udp and addr not in found:
                found.append(addr)
    return found


def rewrite_sdp(sdp: str, translate: Translate) -> str:
    """The SDP with every UDP candidate translated, others removed, and default addresses to match.

    `c=` and the `m=` port are set to the section's first remaining candidate (or 0.0.0.0:9 if none), so
    nothing in the description still names the real address.
    """
    cache: dict[Addr, Addr | None] = {}

    def once(addr: Addr) -> Addr | None:
        if addr not in cache:
            cache[addr] = translate(addr)
        return cache[addr]

    sections: list[list[str]] = [[]]
    for line in sdp.splitlines():
        if line.startswith("m="):
            sections.append([])
        if line.startswith("a=candidate:"):
            rewritten = rewrite_candidate(line, once)
            if rewritten is not None:
                sections[-1].append(rewritten)
            continue
        sections[-1].append(line)
    out: list[str] = list(sections[0])
    for section in sections[1:]:
        first = next((c for c in section if c.startswith("a=candidate:")), None)
        host, port = ("0.0.0.0", 9)
        if first is not None:
            fields = first.split()
            host, port = fields[4], int(fields[5])
        for line in section:
            if line.startswith("m="):
                parts = line.split(" ")
                parts[1] = str(port)
                line = " ".join(parts)
            elif line.startswith("c=IN IP4 "):
                line = f"c=IN IP4 {host}"
            out.append(line)
    return "\r\n".join(out) + "\r\n"
