#!/usr/bin/env python3
"""Regenerate the offline demo's SAMPLE feeds and their label sidecar.

Everything written here is sample data made up by this project for the demo and its tests:
realistic in shape, not real news. Each entry carries the missions a careful editor would
file it under (``labels.yaml``); a test checks that every mission page shows exactly those.

    python3 feeds/demo/regenerate.py      # rewrites feeds/demo/feeds/*.xml and labels.yaml
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
FEEDS = HERE / "feeds"
BASE = "http://127.0.0.1:8765"


@dataclass(frozen=True)
class Item:
    title: str
    text: str
    date: str  # ISO 8601, UTC
    labels: tuple[str, ...]
    lang: str = "en"
    note: str = ""


@dataclass(frozen=True)
class SampleFeed:
    slug: str
    title: str
    mission: str | None
    fmt: str  # "rss" or "atom"
    items: tuple[Item, ...]


def I(title: str, text: str, date: str, *labels: str, lang: str = "en", note: str = "") -> Item:  # noqa: E743
    return Item(title, text, date, labels, lang, note)


FEEDS_DATA: tuple[SampleFeed, ...] = (
    SampleFeed("minurso", "MINURSO news (sample)", "MINURSO", "rss", (
        I("Military observers complete patrol cycle east of the berm",
          "MINURSO military observers completed their monthly ground patrols from the team sites east of the berm, checking that both parties respect the ceasefire.",
          "2026-11-20T09:00:00Z", "MINURSO"),
        I("Personal Envoy meets parties in Laayoune and Tindouf",
          "The Personal Envoy for Western Sahara held separate meetings in Laayoune and Tindouf this week, briefing MINURSO leadership on the political process.",
          "2026-11-14T15:30:00Z", "MINURSO"),
        I("Mine action teams clear cluster munitions near Mijek",
          "Demining teams supported by the mission destroyed unexploded ordnance near Mijek, reducing the risk for nomadic families in Western Sahara.",
          "2026-11-05T08:00:00Z", "MINURSO"),
    )),
    SampleFeed("minusca", "MINUSCA actualités (exemple)", "MINUSCA", "atom", (
        I("Les Casques bleus de la MINUSCA sécurisent la route Bambari-Ippy",
          "Les Casques bleus de la MINUSCA ont escorté un convoi humanitaire sur l'axe Bambari-Ippy, permettant la livraison de vivres à plus de 3 000 familles.",
          "2026-11-22T10:00:00Z", "MINUSCA", lang="fr"),
        I("Electoral support: ballot materials reach Kaga-Bandoro",
          "MINUSCA helicopters delivered ballot materials to Kaga-Bandoro ahead of the local elections in the Central African Republic.",
          "2026-11-12T12:00:00Z", "MINUSCA"),
        I("Bangui: formation des forces de sécurité intérieure",
          "À Bangui, la Mission multidimensionnelle intégrée des Nations unies pour la stabilisation en Centrafrique a formé 60 policiers à la protection des civils.",
          "2026-11-03T09:00:00Z", "MINUSCA", lang="fr"),
    )),
    SampleFeed("monusco", "MONUSCO news (sample)", "MONUSCO", "rss", (
        I("Ituri: Blue Helmets protect displaced families near Bunia",
          "MONUSCO peacekeepers reinforced patrols around displacement sites near Bunia after attacks attributed to CODECO militias in Ituri.",
          "2026-11-23T07:45:00Z", "MONUSCO"),
        I("Radio Okapi lance un programme pour les jeunes de Goma",
          "La MONUSCO et Radio Okapi lancent à Goma une émission consacrée à la cohésion sociale au Nord-Kivu.",
          "2026-11-16T16:00:00Z", "MONUSCO", lang="fr"),
        I("Archive: MONUC engineers rebuild Kisangani bridge (2008)",
          "From our archive: in 2008 MONUC engineers rebuilt a bridge on the road out of Kisangani, reopening a trade route.",
          "2026-11-02T11:00:00Z", "MONUSCO", note="predecessor name MONUC maps to MONUSCO"),
    )),
    SampleFeed("undof", "UNDOF updates (sample)", "UNDOF", "rss", (
        I("Force Commander visits positions in the area of separation",
          "The UNDOF Head of Mission and Force Commander visited observation positions in the area of separation on the Golan Heights.",
          "2026-11-21T09:30:00Z", "UNDOF"),
        I("Camp Faouar hosts medical outreach day",
          "Medical staff at Camp Faouar treated more than 200 residents from nearby villages during an outreach day organised by the United Nations Disengagement Observer Force.",
          "2026-11-09T13:00:00Z", "UNDOF"),
    )),
    SampleFeed("unficyp", "UNFICYP news (sample)", "UNFICYP", "atom", (
        I("Buffer zone farmers get access to fields near Pyla",
          "UNFICYP facilitated access for farmers to cultivate fields inside the buffer zone near Pyla, in line with the mission's civil affairs work.",
          "2026-11-19T10:00:00Z", "UNFICYP"),
        I("Bicommunal concert in Nicosia's Green Line",
          "The United Nations Peacekeeping Force in Cyprus supported a bicommunal concert held along the Green Line in Nicosia.",
          "2026-11-07T18:00:00Z", "UNFICYP"),
    )),
    SampleFeed("unifil", "UNIFIL news (sample)", "UNIFIL", "rss", (
        I("Peacekeepers monitor the Blue Line after overnight incidents",
          "UNIFIL peacekeepers increased patrols along the Blue Line after overnight incidents and urged the parties to respect resolution 1701.",
          "2026-11-24T06:30:00Z", "UNIFIL"),
        I("La FINUL soutient les écoles de Naqoura",
          "La Force intérimaire des Nations Unies au Liban a remis du matériel scolaire à trois écoles de Naqoura.",
          "2026-11-15T09:00:00Z", "UNIFIL", lang="fr"),
        I("Tripartite meeting held in Naqoura",
          "The UNIFIL Head of Mission chaired a tripartite meeting in Naqoura focused on de-escalation south of the Litani River.",
          "2026-11-04T14:00:00Z", "UNIFIL"),
    )),
    SampleFeed("unisfa", "UNISFA news (sample)", "UNISFA", "rss", (
        I("Joint patrol in Abyei town market",
          "UNISFA police and troops conducted a joint foot patrol in the Abyei town market to build confidence among traders from both communities.",
          "2026-11-22T08:00:00Z", "UNISFA"),
        I("Border monitoring team visits the Safe Demilitarized Border Zone",
          "A UNISFA team supporting the Joint Border Verification and Monitoring Mechanism inspected sites in the Safe Demilitarized Border Zone.",
          "2026-11-11T10:00:00Z", "UNISFA"),
    )),
    SampleFeed("unmik", "UNMIK news (sample)", "UNMIK", "atom", (
        I("Trust-building grants for communities in Mitrovica",
          "UNMIK awarded trust-building grants to youth groups in North Mitrovica and south Mitrovica working on shared public spaces.",
          "2026-11-21T11:00:00Z", "UNMIK"),
        I("SRSG briefs the Security Council on Kosovo",
          "The Head of the United Nations Interim Administration Mission in Kosovo briefed the Security Council on developments since the last reporting period.",
          "2026-11-13T15:00:00Z", "UNMIK"),
        I("Language rights workshop in Pristina",
          "UNMIK hosted a workshop in Pristina on the use of official languages in municipal services.",
          "2026-11-06T09:00:00Z", "UNMIK"),
    )),
    SampleFeed("unmiss", "UNMISS news (sample)", "UNMISS", "rss", (
        I("Cholera response in Bentiu",
          "UNMISS engineers repaired water points in Bentiu as health partners respond to cholera cases in Unity State.",
          "2026-11-23T09:00:00Z", "UNMISS"),
        I("Radio Miraya hosts debate with young people in Juba",
          "The United Nations Mission in South Sudan brought young people in Juba together for a debate on peaceful elections broadcast by Radio Miraya.",
          "2026-11-17T17:00:00Z", "UNMISS"),
        I("Peacekeepers from UNMISS and UNISFA coordinate on the Abyei road",
          "UNMISS and UNISFA met in Wau to coordinate security for traders using the road towards Abyei.",
          "2026-11-08T12:00:00Z", "UNMISS", "UNISFA", note="a post that names two missions belongs to both"),
    )),
    SampleFeed("unmogip", "UNMOGIP updates (sample)", "UNMOGIP", "atom", (
        I("Military observers mark 77 years along the Line of Control",
          "UNMOGIP military observers continue to observe developments along the Line of Control from field stations in Srinagar and Islamabad.",
          "2026-11-18T08:00:00Z", "UNMOGIP"),
    )),
    SampleFeed("untso", "UNTSO updates (sample)", "UNTSO", "rss", (
        I("Observer Group Lebanon reports on patrols",
          "UNTSO military observers of Observer Group Lebanon completed patrols in south Lebanon in support of UNIFIL.",
          "2026-11-20T10:00:00Z", "UNTSO", "UNIFIL", note="names both"),
        I("Government House in Jerusalem hosts new observers",
          "Twelve new military observers were welcomed at the United Nations Truce Supervision Organization headquarters in Jerusalem.",
          "2026-11-10T09:00:00Z", "UNTSO"),
    )),
    SampleFeed("unamid", "UNAMID archive (sample)", "UNAMID", "rss", (
        I("Peacekeepers escort fuel convoy to El Fasher",
          "UNAMID peacekeepers escorted a fuel convoy to El Fasher, North Darfur, ensuring hospitals could keep generators running.",
          "2019-03-12T09:00:00Z", "UNAMID"),
        I("Handover of Zamzam team site",
          "The African Union-United Nations Hybrid Operation in Darfur handed over its former team site to civilian authorities.",
          "2020-11-20T10:00:00Z", "UNAMID"),
    )),
    SampleFeed("minusma", "MINUSMA archives (exemple)", "MINUSMA", "atom", (
        I("Gao : la MINUSMA réhabilite un forage",
          "La MINUSMA a réhabilité un forage à Gao, au bénéfice de plus de 2 000 habitants.",
          "2022-06-14T09:00:00Z", "MINUSMA", lang="fr"),
        I("Withdrawal from Kidal camp completed",
          "MINUSMA completed its withdrawal from the Kidal camp as part of the drawdown ordered by the Security Council.",
          "2023-10-31T18:00:00Z", "MINUSMA"),
    )),
    SampleFeed("minustah", "MINUSTAH archives (sample)", "MINUSTAH", "rss", (
        I("Brazilian contingent patrols Cité Soleil",
          "MINUSTAH troops from Brazil conducted a night patrol in Cité Soleil, Port-au-Prince.",
          "2011-05-03T22:00:00Z", "MINUSTAH"),
        I("La Mission des Nations Unies pour la stabilisation en Haïti achève son mandat",
          "Après treize ans, la MINUSTAH a achevé son mandat ; une nouvelle mission consacrée à la justice prend le relais.",
          "2017-10-15T12:00:00Z", "MINUSTAH", lang="fr"),
    )),
    SampleFeed("unmil", "UNMIL archive (sample)", "UNMIL", "atom", (
        I("UNMIL hands over security responsibilities in Monrovia",
          "The United Nations Mission in Liberia handed over security responsibilities to the Liberia National Police at a ceremony in Monrovia.",
          "2016-06-30T11:00:00Z", "UNMIL"),
    )),
    SampleFeed("unoci", "ONUCI archives (exemple)", "UNOCI", "rss", (
        I("L'ONUCI appuie le désarmement à Guiglo",
          "L'ONUCI a appuyé une opération de désarmement des ex-combattants à Guiglo, dans l'ouest de la Côte d'Ivoire.",
          "2013-04-10T09:00:00Z", "UNOCI", lang="fr", note="ONUCI is the French acronym of UNOCI"),
        I("UNOCI closes its Abidjan headquarters",
          "The United Nations Operation in Côte d'Ivoire lowered its flag in Abidjan at the end of its mandate.",
          "2017-06-30T10:00:00Z", "UNOCI"),
    )),
    SampleFeed("minujusth", "MINUJUSTH archives (sample)", "MINUJUSTH", "rss", (
        I("MINUJUSTH supports Haitian prison reform",
          "MINUJUSTH corrections advisers helped the Haitian National Penitentiary Administration reduce pre-trial detention in Port-au-Prince.",
          "2018-09-20T09:00:00Z", "MINUJUSTH"),
    )),
    SampleFeed("unmit", "UNMIT archive (sample)", "UNMIT", "atom", (
        I("Electoral support for Timor-Leste's 2012 vote",
          "UNMIT police and electoral advisers supported the national elections, with observers deployed from Dili to Oecusse.",
          "2012-07-07T09:00:00Z", "UNMIT"),
    )),
    SampleFeed("un-news", "UN News - peace and security (sample)", None, "rss", (
        I("Security Council renews UNFICYP for another year",
          "The Security Council on Friday extended the mandate of the UN peacekeeping force in Cyprus, UNFICYP, for twelve months.",
          "2026-11-25T16:00:00Z", "UNFICYP"),
        I("Guterres pays tribute to fallen peacekeepers",
          "Secretary-General António Guterres honoured peacekeepers who lost their lives in the service of peace this year, calling on Member States to back the Action for Peacekeeping agenda.",
          "2026-11-24T12:00:00Z", note="general peacekeeping topic: no mission"),
        I("Refugee agency scales up aid in South Sudan",
          "UNHCR and WFP are scaling up food and shelter assistance for refugees arriving in South Sudan.",
          "2026-11-20T09:00:00Z", note="host country and other UN agencies only: no mission"),
        I("OSCE Special Monitoring Mission daily report",
          "The OSCE Special Monitoring Mission to Ukraine recorded ceasefire violations in the Donetsk region.",
          "2020-09-17T10:00:00Z", note="TRAP: an OSCE monitoring mission, not a UN mission"),
        I("EULEX judges hand over final cases",
          "The European Union rule-of-law mission EULEX handed its last cases to local courts.",
          "2026-11-18T09:00:00Z", note="TRAP: EULEX is a look-alike, not UNMIK"),
        I("Peacekeepers in Lebanon help families after shelling",
          "Blue Helmets of the UN peacekeeping force in Lebanon delivered water to families in Naqoura after shelling damaged the network.",
          "2026-11-16T09:00:00Z", "UNIFIL", note="hard: the mission described, not named"),
        I("Darfur: former hybrid mission sites now used as schools",
          "Two years after UNAMID left, several of its former team sites in Darfur are used as schools.",
          "2023-01-10T09:00:00Z", "UNAMID"),
    )),
    SampleFeed("un-peacekeeping-x", "@UNPeacekeeping via RSS bridge (sample)", None, "atom", (
        I("UNISFA border mechanism",
          "The Joint Border Verification and Monitoring Mechanism encourages both #Sudan and #SouthSudan to resolve border issues by cooperating. @UNISFA_1 is tasked with creating a safe and stable environment by conducting regular air and ground patrols within a demilitarized border zone. https://t.co/Bu06QEK2O0",
          "2019-08-21T10:00:00Z", "UNISFA", note="one of the three posts of the original UNMIK page"),
        I("RT @unamidnews",
          "RT @unamidnews: #PhotoOfTheDay: Today, 19 August is #WorldHumanitarianDay. UNSG Antonio Guterres expressed solidarity with people affected…",
          "2019-08-19T10:00:00Z", "UNAMID", note="one of the three posts of the original UNMIK page"),
        I("Primacy of politics",
          "Karin Landgren, former @UN Under-Sec-Gen & head of peace operations in Liberia, Burundi & Nepal, offers views on the Action for Peacekeeping initiative #A4P in \"Nailing Down the Primacy of Politics in @UNPeacekeeping: An Insider Perspective\" via https://t.co/AmYAULqJ6F https://t.co/bWeBTD3EoI",
          "2019-08-18T10:00:00Z", note="one of the three posts of the original UNMIK page: general, no mission"),
        I("Women in peacekeeping",
          "Meet the women officers leading patrols in blue helmets around the world. #WomenInPeacekeeping #PKDay",
          "2026-11-19T10:00:00Z", note="general topic"),
        I("Kosovo community radio",
          "In #Kosovo, @UNMIK supports a community radio project that broadcasts in Albanian and Serbian.",
          "2026-11-12T10:00:00Z", "UNMIK"),
    )),
)


def guid(feed: SampleFeed, item: Item) -> str:
    digest = hashlib.sha1(f"{feed.slug}|{item.title}".encode()).hexdigest()[:12]
    return f"{BASE}/items/{feed.slug}/{digest}"


def rfc822(iso: str) -> str:
    from datetime import datetime

    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return dt.strftime("%a, %d %b %Y %H:%M:%S +0000")


def rss(feed: SampleFeed) -> str:
    items = []
    for it in feed.items:
        items.append(
            f"""    <item>
      <title>{escape(it.title)}</title>
      <link>{guid(feed, it)}</link>
      <guid isPermaLink="true">{guid(feed, it)}</guid>
      <pubDate>{rfc822(it.date)}</pubDate>
      <description>{escape("<p>" + escape(it.text) + "</p>")}</description>
    </item>"""
        )
    lang = "fr" if all(i.lang == "fr" for i in feed.items) else "en"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<!-- SAMPLE DATA written for the aggregator's offline demo; not real news. -->
<rss version="2.0">
  <channel>
    <title>{escape(feed.title)}</title>
    <link>{BASE}/{feed.slug}/</link>
    <description>Sample feed for the offline demo</description>
    <language>{lang}</language>
{chr(10).join(items)}
  </channel>
</rss>
"""


def atom(feed: SampleFeed) -> str:
    entries = []
    for it in feed.items:
        entries.append(
            f"""  <entry xml:lang="{it.lang}">
    <title>{escape(it.title)}</title>
    <id>{guid(feed, it)}</id>
    <link rel="alternate" href="{guid(feed, it)}"/>
    <updated>{it.date}</updated>
    <published>{it.date}</published>
    <author><name>{escape(feed.title.split(" (")[0])}</name></author>
    <content type="html">{escape("<p>" + escape(it.text) + "</p>")}</content>
  </entry>"""
        )
    updated = max(i.date for i in feed.items)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<!-- SAMPLE DATA written for the aggregator's offline demo; not real news. -->
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{escape(feed.title)}</title>
  <id>{BASE}/{feed.slug}/</id>
  <link rel="alternate" href="{BASE}/{feed.slug}/"/>
  <updated>{updated}</updated>
{chr(10).join(entries)}
</feed>
"""


def main() -> None:
    FEEDS.mkdir(exist_ok=True)
    sources = ["# SAMPLE DATA: the demo's sources, served by `aggregator demo` on loopback.",
               "# They replace the sources of the mission files while the demo runs.", "sources:"]
    labels = ["# SAMPLE DATA: the missions each demo entry should be tagged with (by guid).",
              "# A test checks that every mission page shows exactly these posts.", "labels:"]
    for feed in FEEDS_DATA:
        ext = "rss" if feed.fmt == "rss" else "atom"
        name = f"{feed.slug}.{ext}.xml"
        (FEEDS / name).write_text(rss(feed) if feed.fmt == "rss" else atom(feed), encoding="utf-8")
        mission = feed.mission or "null"
        sources.append(
            f'  - {{kind: feed, mission: {mission}, url: "{BASE}/{name}", name: "{feed.title}"}}'
        )
        for it in feed.items:
            missions = ", ".join(it.labels)
            note = f"  # {it.note}" if it.note else ""
            labels.append(f'  "{guid(feed, it)}": [{missions}]{note}')
    (HERE / "sources.yaml").write_text("\n".join(sources) + "\n", encoding="utf-8")
    (HERE / "labels.yaml").write_text("\n".join(labels) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
