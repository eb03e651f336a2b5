"""The forwarding path never decodes or encodes: counted in a server running in its own process."""

import asyncio
import json
from pathlib import Path

import pytest

from signaling.client import SignalingClient
from tests.conftest import wait_until
from tests.helpers import codec_counter
from tests.helpers.media import FrameCollector, NumberedVideoTrack, ToneTrack
from tests.helpers.server import ServerProcess, token

SCRIPT = Path(__file__).parent.parent / "helpers" / "counting_server.py"


@pytest.fixture
def counting_server(tmp_path):
    counts = tmp_path / "counts.json"
    server = ServerProcess(tmp_path / "data", script=SCRIPT, extra_env={"CODEC_COUNTS": str(counts)})
    yield server, counts
    server.stop()


async def test_the_server_forwards_media_with_zero_codec_invocations(counting_server):
    server, counts_file = counting_server
    codec_counter.install()  # count this process too: proof that the counter sees real codec work
    codec_counter.COUNTS.clear()

    publisher = await SignalingClient(server.ws_url).connect()
    watchers = [await SignalingClient(server.ws_url).connect() for _ in range(2)]
    try:
        pub = await publisher.join("count", token("count", "patient-1"))
        await pub.publish(NumberedVideoTrack(), ToneTrack())
        peers = [await w.join("count", token("count", f"doctor-{i}", "doctor")) for i, w in enumerate(watchers)]
        collectors = []
        for peer in peers:
            await wait_until(lambda peer=peer: len(peer.tracks) == 2, "tracks")
            collectors.append(FrameCollector(peer.track("video")))
        await wait_until(lambda: all(len(c.readable()) > 30 for c in collectors), "frames through the server")
        for c in collectors:
            await c.stop()
    finally:
        for client in (publisher, *watchers):
            await client.close()
    await asyncio.sleep(0.2)
    output = server.stop()

    assert codec_counter.COUNTS["Vp8Encoder.encode"] > 30 and codec_counter.COUNTS["Vp8Decoder.decode"] > 60
    server_counts = json.loads(counts_file.read_text())
    assert server_counts == {}, f"the server ran codecs: {server_counts}\n{output[-2000:]}"
