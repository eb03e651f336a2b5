"""`make serve` (`--seed-demo`): a demo doctor, OPDs, health worker and pharmacist whose random passwords are printed,
kept only in a 0600 file in the data dir, and stable across restarts."""

from __future__ import annotations

import re
import stat

from portal import db
from portal import storage as st
from portal.seed import CREDENTIALS_FILE
from tests.portal.conftest import Server


def printed_passwords(text: str) -> dict[str, str]:
    return dict(re.findall(r"user (\S+)\s+password (\S+)", text))


async def test_the_demo_seed_prints_working_credentials_and_keeps_them_private(tmp_path, capsys, aiohttp_server,
                                                                                aiohttp_client):
    server = await Server(aiohttp_server, aiohttp_client, tmp_path, seed_demo=True).start()
    first = printed_passwords(capsys.readouterr().out)
    assert set(first) == {"demo-doctor", "demo-hw", "demo-pharmacist"} and len(set(first.values())) == 3
    creds = tmp_path / CREDENTIALS_FILE
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    for user, password in first.items():
        browser = await server.browser()
        resp, _ = await browser.staff_login(user, password)
        assert resp.status == 303, user
    await server.stop()

    again = await Server(aiohttp_server, aiohttp_client, tmp_path, seed_demo=True).start()
    assert printed_passwords(capsys.readouterr().out) == first  # same accounts, same passwords
    conn = db.connect(tmp_path / db.DB_FILE)
    assert len(st.list_doctors(conn)) == 1 and len(st.list_health_workers(conn)) == 1
    assert {o.code for o in st.list_opds(conn)} == {"GEN", "MED"}
    conn.close()
    await again.stop()


async def test_a_lost_credentials_file_gets_new_passwords_not_a_second_doctor(tmp_path, capsys, aiohttp_server,
                                                                               aiohttp_client):
    server = await Server(aiohttp_server, aiohttp_client, tmp_path, seed_demo=True).start()
    old = printed_passwords(capsys.readouterr().out)
    await server.stop()
    (tmp_path / CREDENTIALS_FILE).unlink()
    server = await Server(aiohttp_server, aiohttp_client, tmp_path, seed_demo=True).start()
    new = printed_passwords(capsys.readouterr().out)
    assert new["demo-doctor"] != old["demo-doctor"]
    browser = await server.browser()
    assert (await browser.staff_login("demo-doctor", old["demo-doctor"]))[0].status != 303
    assert (await browser.staff_login("demo-doctor", new["demo-doctor"]))[0].status == 303


async def test_without_seed_demo_nothing_is_seeded_or_printed(tmp_path, capsys, aiohttp_server, aiohttp_client):
    server = await Server(aiohttp_server, aiohttp_client, tmp_path).start()
    assert "password" not in capsys.readouterr().out
    assert not (tmp_path / CREDENTIALS_FILE).exists()
    conn = db.connect(tmp_path / db.DB_FILE)
    assert st.list_doctors(conn) == []
    conn.close()
    await server.stop()
