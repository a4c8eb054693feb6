"""`herald demo`: realistic demo data — 1,000 leads across continents, a list, a template, a draft campaign."""

from __future__ import annotations

import random
import unicodedata

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.campaigns import Campaign
from models.leads import Lead, LeadEvent
from models.lists import LeadList, ListMember
from models.templates import Template

DEMO_LIST = "Newsletter subscribers"
DEMO_TEMPLATE = "Monthly newsletter"
DEMO_CAMPAIGN = "November newsletter"

# (country, timezone, phone prefix, first names, last names)
REGIONS = [
    (
        "US",
        "America/New_York",
        "+1212",
        ["James", "Mary", "Robert", "Patricia", "Michael", "Linda"],
        ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller"],
    ),
    (
        "US",
        "America/Los_Angeles",
        "+1415",
        ["Emily", "Daniel", "Olivia", "Ethan", "Ava", "Noah"],
        ["Garcia", "Martinez", "Davis", "Lopez", "Wilson", "Anderson"],
    ),
    (
        "BR",
        "America/Sao_Paulo",
        "+5511",
        ["Lucas", "Gabriela", "Mateus", "Beatriz", "Rafael", "Larissa"],
        ["Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa"],
    ),
    (
        "GB",
        "Europe/London",
        "+4420",
        ["Oliver", "Amelia", "Harry", "Isla", "George", "Freya"],
        ["Taylor", "Evans", "Thomas", "Roberts", "Walker", "Wright"],
    ),
    (
        "FR",
        "Europe/Paris",
        "+331",
        ["Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules"],
        ["Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Lefèvre"],
    ),
    (
        "DE",
        "Europe/Berlin",
        "+4930",
        ["Lena", "Felix", "Mia", "Leon", "Hannah", "Paul"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner"],
    ),
    (
        "NG",
        "Africa/Lagos",
        "+2341",
        ["Chinedu", "Ngozi", "Emeka", "Aisha", "Tunde", "Funmi"],
        ["Okafor", "Adeyemi", "Balogun", "Eze", "Nwosu", "Bello"],
    ),
    (
        "KE",
        "Africa/Nairobi",
        "+25420",
        ["Wanjiru", "Otieno", "Achieng", "Kamau", "Njeri", "Mwangi"],
        ["Kariuki", "Odhiambo", "Mutua", "Kiptoo", "Wambui", "Ochieng"],
    ),
    (
        "IN",
        "Asia/Kolkata",
        "+9122",
        ["Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Isha"],
        ["Sharma", "Patel", "Gupta", "Reddy", "Iyer", "Nair"],
    ),
    (
        "JP",
        "Asia/Tokyo",
        "+813",
        ["Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi"],
        ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito"],
    ),
    (
        "SG",
        "Asia/Singapore",
        "+656",
        ["Wei", "Mei", "Jun", "Hui", "Kai", "Ling"],
        ["Tan", "Lim", "Lee", "Ng", "Ong", "Wong"],
    ),
    (
        "AU",
        "Australia/Sydney",
        "+612",
        ["Jack", "Charlotte", "William", "Matilda", "Thomas", "Grace"],
        ["Kelly", "Murphy", "Ryan", "Campbell", "Hughes", "Clarke"],
    ),
]
STATUSES = ["new"] * 40 + ["contacted"] * 25 + ["qualified"] * 15 + ["proposal"] * 8 + ["won"] * 7 + ["lost"] * 5
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises", "Hooli", "Vandelay"]
DOMAINS = ["example.com", "example.org", "example.net"]
TAGS = ["newsletter", "webinar", "trial", "vip", "partner", "event-2026"]
SOURCES = ["website", "webinar", "referral", "import", "event", "linkedin"]
TITLES = ["CEO", "CTO", "Head of Marketing", "Marketing Manager", "Sales Director", "Product Manager", "Founder"]
HOT_LEADS = {
    "combinator": "and",
    "rules": [
        {"field": "score", "operator": ">=", "value": 70},
        {"field": "status", "operator": "in", "value": ["qualified", "proposal"]},
    ],
}

TEMPLATE_HTML = """<h1>Hello {{ first_name }},</h1>
<p>Here is what is new at Herald this month, picked for {{ company or "you" }}.</p>
<ul><li>Durable campaigns that survive crashes</li><li>Journeys that wait days without losing a lead</li></ul>
<p>See you soon,<br>The Herald team</p>"""
TEMPLATE_TEXT = """Hello {{ first_name }},

Here is what is new at Herald this month, picked for {{ company or "you" }}.

- Durable campaigns that survive crashes
- Journeys that wait days without losing a lead

See you soon,
The Herald team"""


def _ascii(value: str) -> str:
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()


def demo_leads(workspace_id: int, count: int = 1000, seed: int = 42) -> list[Lead]:
    rng = random.Random(seed)
    leads = []
    for n in range(count):
        country, tz, prefix, firsts, lasts = REGIONS[n % len(REGIONS)]
        first, last = rng.choice(firsts), rng.choice(lasts)
        consent = rng.choices(["granted", "unknown", "denied"], weights=[85, 10, 5])[0]
        suppressed = rng.choices([None, "bounced", "unsubscribed"], weights=[97, 2, 1])[0]
        signed_up = f"2026-{rng.randrange(1, 11):02d}-{rng.randrange(1, 28):02d}T10:00:00Z"
        leads.append(
            Lead(
                workspace_id=workspace_id,
                email=f"{_ascii(first)}.{_ascii(last)}.{n + 1}@{rng.choice(DOMAINS)}",
                phone=f"{prefix}{rng.randrange(1_000_000, 9_999_999)}",
                first_name=first,
                last_name=last,
                status=rng.choice(STATUSES),
                timezone=tz,
                company=rng.choice(COMPANIES),
                job_title=rng.choice(TITLES),
                country=country,
                score=rng.randrange(0, 100),
                source=rng.choice(SOURCES),
                tags=sorted(set(rng.sample(TAGS, rng.randrange(0, 3)))),
                consent_email=consent,
                consent_details=(
                    {"email": {"source": "signup form", "at": signed_up, "wording": "Send me news"}}
                    if consent == "granted"
                    else {}
                ),
                suppressed_email=suppressed,
                consent_sms=rng.choice(["granted", "unknown"]),
                consent_whatsapp="unknown",
            )
        )
    return leads


async def load_demo(session: AsyncSession, workspace_id: int, lead_count: int = 1000) -> bool:
    """Load the demo data into a workspace once; returns False (and changes nothing) when it is already there."""
    existing = select(LeadList).where(LeadList.name == DEMO_LIST, LeadList.workspace_id == workspace_id)
    if (await session.exec(existing)).first() is not None:
        return False
    leads = demo_leads(workspace_id, lead_count)
    session.add_all(leads)
    demo_list = LeadList(
        workspace_id=workspace_id,
        name=DEMO_LIST,
        description="Everyone who signed up for the newsletter (demo data).",
    )
    template = Template(
        workspace_id=workspace_id,
        name=DEMO_TEMPLATE,
        subject="{{ first_name }}, your November news from Herald",
        body_html=TEMPLATE_HTML,
        body_text=TEMPLATE_TEXT,
    )
    session.add_all([demo_list, template])
    await session.flush()
    session.add_all([ListMember(list_id=demo_list.id, lead_id=lead.id) for lead in leads])
    session.add_all(
        [
            LeadEvent(workspace_id=workspace_id, lead_id=lead.id, type="created", data={"source": "demo"}, actor="demo")
            for lead in leads
        ]
    )
    session.add(Campaign(workspace_id=workspace_id, name=DEMO_CAMPAIGN, template_id=template.id, list_id=demo_list.id))
    session.add(
        LeadList(
            workspace_id=workspace_id,
            name="Hot leads",
            description="Qualified or in proposal with a score of 70 or more (a dynamic list).",
            kind="dynamic",
            filter=HOT_LEADS,
        )
    )
    await session.commit()
    return True


async def has_any_data(session: AsyncSession, workspace_id: int) -> bool:
    query = text("SELECT EXISTS (SELECT 1 FROM leads WHERE workspace_id = :w)")
    return (await session.execute(query, {"w": workspace_id})).scalar_one()
