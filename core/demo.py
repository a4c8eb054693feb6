"""`herald demo`: realistic demo data — 1,000 leads across continents, a list, templates of every channel with
their versions, brand guidelines, a footer block and a draft campaign."""

from __future__ import annotations

import random
import unicodedata

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.campaigns import Campaign
from models.leads import Lead, LeadEvent
from models.lists import LeadList, ListMember
from models.templates import BrandGuidelines, ContentBlock, Template, TemplateFolder, TemplateVersion

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

DEMO_POSTAL_ADDRESS = "Herald Demo Ltd, 1 Harbour Street, Springfield 12345"
FOOTER_HTML = """<p style="color: #6b7280; font-size: 12px;">{{ workspace.name }} · {{ workspace.postal_address }}<br>
<a href="{{ unsubscribe_url }}">Unsubscribe</a> from these emails.</p>"""
FOOTER_TEXT = """{{ workspace.name }} · {{ workspace.postal_address }}
Unsubscribe: {{ unsubscribe_url }}"""
TEMPLATE_HTML_V1 = (
    """<h1>Hello {{ lead.first_name | default("there", true) }},</h1>
<p>Here is what is new at Herald this month, picked for {{ lead.company or "you" }}.</p>
<ul><li>Durable campaigns that survive crashes</li><li>Journeys that wait days without losing a lead</li></ul>
<p>See you soon,<br>The Herald team</p>
"""
    + FOOTER_HTML
)
TEMPLATE_HTML = (
    """<h1 style="color: #4f46e5;">Hello {{ lead.first_name | default("there", true) }},</h1>
<p>Here is what is new at Herald this month, picked for {{ lead.company or "you" }}.</p>
<ul><li>Durable campaigns that survive crashes</li><li>Journeys that wait days without losing a lead</li></ul>
{% if lead.status == "qualified" %}<p>Your account manager will call you this week.</p>{% endif %}
<p><a href="https://example.com/news">Read the full story</a></p>
<p>See you soon,<br>The Herald team</p>
"""
    + FOOTER_HTML
)
TEMPLATE_TEXT = (
    """Hello {{ lead.first_name | default("there", true) }},

Here is what is new at Herald this month, picked for {{ lead.company or "you" }}.

- Durable campaigns that survive crashes
- Journeys that wait days without losing a lead

See you soon,
The Herald team

"""
    + FOOTER_TEXT
)
SMS_TEXT = "Hi {{ lead.first_name | default('there', true) }}, your Herald demo is ready: https://example.com/demo"
WHATSAPP_TEXT = (
    "Hello {{ lead.first_name | default('there', true) }} 👋 thanks for joining the {{ workspace.name }} webinar. "
    "The recording is here: https://example.com/webinar"
)
SOCIAL_TEXT = "Durable campaigns that survive crashes: what we shipped this month at Herald. https://example.com/news"
BRAND = {
    "colors": ["#111827", "#4f46e5", "#6b7280", "#ffffff"],
    "fonts": ["Helvetica", "Arial"],
    "require_footer": True,
    "postal_address": DEMO_POSTAL_ADDRESS,
    "banned_phrases": ["free money", "act now", "100% guaranteed"],
    "link_domains": ["example.com"],
    "max_image_bytes": 2_000_000,
}


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
    session.add(demo_list)
    template, version = await _demo_templates(session, workspace_id)
    session.add_all([ListMember(list_id=demo_list.id, lead_id=lead.id) for lead in leads])
    session.add_all(
        [
            LeadEvent(workspace_id=workspace_id, lead_id=lead.id, type="created", data={"source": "demo"}, actor="demo")
            for lead in leads
        ]
    )
    session.add(
        Campaign(
            workspace_id=workspace_id,
            name=DEMO_CAMPAIGN,
            template_id=template.id,
            template_version_id=version.id,
            list_id=demo_list.id,
        )
    )
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


async def _add_template(
    session: AsyncSession, workspace_id: int, name: str, channel: str, versions: list[tuple[str, dict]], **meta
) -> tuple[Template, TemplateVersion]:
    """A template with its history: each (note, content) is one version, the last one current."""
    content = versions[-1][1]
    template = Template(workspace_id=workspace_id, name=name, channel=channel, version=len(versions), **meta, **content)
    session.add(template)
    await session.flush()
    rows = [
        TemplateVersion(workspace_id=workspace_id, template_id=template.id, number=n, note=note, **content)
        for n, (note, content) in enumerate(versions, start=1)
    ]
    session.add_all(rows)
    await session.flush()
    return template, rows[-1]


async def _demo_templates(session: AsyncSession, workspace_id: int) -> tuple[Template, TemplateVersion]:
    """Brand guidelines, a footer block, a folder and one template per channel; returns the newsletter and its
    current version."""
    session.add(BrandGuidelines(workspace_id=workspace_id, **BRAND))
    session.add(
        ContentBlock(
            workspace_id=workspace_id,
            name="Standard footer",
            kind="footer",
            body_html=FOOTER_HTML,
            body_text=FOOTER_TEXT,
        )
    )
    folder = TemplateFolder(workspace_id=workspace_id, name="Newsletters")
    session.add(folder)
    await session.flush()
    newsletter = await _add_template(
        session,
        workspace_id,
        DEMO_TEMPLATE,
        "email",
        [
            (
                "First draft",
                {
                    "subject": "Your November news from Herald",
                    "preheader": "Durable campaigns, journeys and more",
                    "body_html": TEMPLATE_HTML_V1,
                    "body_text": "",
                },
            ),
            (
                "Personal subject, plain-text part, link to the full story",
                {
                    "subject": "{{ lead.first_name | default('Hello', true) }}, your November news from Herald",
                    "preheader": "Durable campaigns, journeys and more",
                    "body_html": TEMPLATE_HTML,
                    "body_text": TEMPLATE_TEXT,
                },
            ),
        ],
        folder_id=folder.id,
        description="The monthly newsletter (demo data).",
    )
    await _add_template(
        session,
        workspace_id,
        "Demo reminder (SMS)",
        "sms",
        [("First version", {"body_text": SMS_TEXT})],
        description="A one-segment reminder.",
    )
    await _add_template(
        session,
        workspace_id,
        "Webinar follow-up (WhatsApp)",
        "whatsapp",
        [("First version", {"body_text": WHATSAPP_TEXT, "whatsapp_template": "webinar_follow_up"})],
    )
    await _add_template(
        session,
        workspace_id,
        "Monthly highlights (social)",
        "social",
        [("First version", {"body_text": SOCIAL_TEXT, "social_networks": ["x", "linkedin"]})],
        folder_id=folder.id,
    )
    return newsletter


async def has_any_data(session: AsyncSession, workspace_id: int) -> bool:
    query = text("SELECT EXISTS (SELECT 1 FROM leads WHERE workspace_id = :w)")
    return (await session.execute(query, {"w": workspace_id})).scalar_one()
