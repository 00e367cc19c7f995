"""The chrome of pages and widget in English and French (post content is never translated)."""

from __future__ import annotations

from aggregator.models import Mission, Tag

LANGUAGES = ("en", "fr")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "skip": "Skip to content",
        "all_missions": "All missions",
        "missions_heading": "UN peacekeeping missions",
        "active": "Active missions",
        "closed": "Closed missions",
        "post": "post",
        "posts": "posts",
        "no_posts_short": "no posts yet",
        "latest": "Latest posts",
        "latest_from": "Latest from {m}",
        "last_updated": "Last updated",
        "newest_post": "newest post",
        "never": "not collected yet",
        "summary": "Summary",
        "mandate": "Mandate",
        "background": "Background",
        "why": "Why it matters",
        "personnel": "Personnel",
        "as_of": "as of",
        "source": "source",
        "unverified": "not verified",
        "head": "Head of mission",
        "headquarters": "Headquarters",
        "events": "Key events",
        "sources": "Sources of this profile",
        "own_sources": "Where these posts come from",
        "website": "Mission website",
        "country": "Country or territory",
        "years": "Years",
        "empty_title": "Nothing to show yet",
        "empty_text": "No post concerning {m} has been collected yet. Posts appear here after the "
        "next collection; the feeds below will carry them too.",
        "original": "View original",
        "pinned": "Pinned",
        "retweet": "Repost",
        "reply": "Reply",
        "tagged": "Tagged because",
        "media_link": "Image (opens the original)",
        "feeds": "Subscribe",
        "feeds_all": "Feeds for all missions",
        "embed": "Embed a mission's posts on your site",
        "language": "Français",
        "profile": "About the mission",
        "also": "Also from",
        "status_active": "active",
        "status_closed": "closed",
        "jump": "Jump to the latest posts",
    },
    "fr": {
        "skip": "Aller au contenu",
        "all_missions": "Toutes les missions",
        "missions_heading": "Missions de maintien de la paix des Nations Unies",
        "active": "Missions en cours",
        "closed": "Missions terminées",
        "post": "publication",
        "posts": "publications",
        "no_posts_short": "aucune publication",
        "latest": "Dernières publications",
        "latest_from": "Dernières publications : {m}",
        "last_updated": "Dernière mise à jour",
        "newest_post": "publication la plus récente",
        "never": "pas encore collecté",
        "summary": "En bref",
        "mandate": "Mandat",
        "background": "Contexte",
        "why": "Pourquoi c’est important",
        "personnel": "Effectifs",
        "as_of": "au",
        "source": "source",
        "unverified": "non vérifié",
        "head": "Chef de mission",
        "headquarters": "Quartier général",
        "events": "Dates clés",
        "sources": "Sources de ce profil",
        "own_sources": "Provenance de ces publications",
        "website": "Site de la mission",
        "country": "Pays ou territoire",
        "years": "Années",
        "empty_title": "Rien à afficher pour l’instant",
        "empty_text": "Aucune publication concernant {m} n’a encore été collectée. Elles "
        "apparaîtront ici après la prochaine collecte, et dans les flux ci-dessous.",
        "original": "Voir l’original",
        "pinned": "Épinglé",
        "retweet": "Republication",
        "reply": "Réponse",
        "tagged": "Classé ici car",
        "media_link": "Image (ouvre l’original)",
        "feeds": "S’abonner",
        "feeds_all": "Flux de toutes les missions",
        "embed": "Intégrer les publications d’une mission à votre site",
        "language": "English",
        "profile": "À propos de la mission",
        "also": "Aussi publié par",
        "status_active": "en cours",
        "status_closed": "terminée",
        "jump": "Aller aux dernières publications",
    },
}

RULES: dict[str, dict[str, str]] = {
    "en": {
        "own_source": "it comes from the mission's own source",
        "hashtag": "it uses the hashtag",
        "mention": "it mentions",
        "name": "it names",
        "place": "it names the place",
        "term": "it uses the term",
        "host": "it links to the mission's site",
        "editor": "of an editor's decision:",
    },
    "fr": {
        "own_source": "il provient d’une source de la mission",
        "hashtag": "il utilise le mot-dièse",
        "mention": "il mentionne",
        "name": "il nomme",
        "place": "il nomme le lieu",
        "term": "il emploie le terme",
        "host": "il renvoie au site de la mission",
        "editor": "c’est une décision de l’équipe éditoriale :",
    },
}


def t(lang: str, key: str, **values: str) -> str:
    text = STRINGS.get(lang, STRINGS["en"]).get(key) or STRINGS["en"][key]
    return text.format(**values) if values else text


def as_of(lang: str, when: str) -> str:
    """A figure's date as the page says it: "as of 2021-07", but words stay words
    ("undated (mission website)", "circa 2018"), never "as of undated"."""
    return f"{t(lang, 'as_of')} {when}" if when[:1].isdigit() else when


def reason(tag: Tag, lang: str = "en") -> tuple[str, str]:
    """(label, matched words) explaining why a post is on a mission's page."""
    rules = RULES.get(lang, RULES["en"])
    rule = "editor" if tag.decided_by == "editor" else tag.rule
    label = rules.get(rule, rule)
    matched = "" if rule == "own_source" else tag.matched
    return label, matched


def mission_name(mission: Mission, lang: str) -> str:
    return mission.names.get(lang) or mission.name
