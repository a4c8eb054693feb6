import pytest
from sqlalchemy import text

from domain.devices import device_of, device_sql

AGENTS = [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "mobile"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36", "mobile"),
    ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15", "tablet"),
    ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", "tablet"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", "desktop"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15", "desktop"),
    ("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0", "desktop"),
    ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", "desktop"),
    ("GoogleImageProxy", "other"),
    ("", "other"),
    (None, "other"),
]


@pytest.mark.parametrize(("agent", "device"), AGENTS)
def test_device_of(agent, device):
    assert device_of(agent) == device


async def test_the_sql_rules_agree_with_python(db):
    async with db() as session:
        for agent, device in AGENTS:
            found = (
                await session.execute(text(f"SELECT {device_sql('CAST(:agent AS text)')}"), {"agent": agent})
            ).scalar_one()
            assert found == device, agent
