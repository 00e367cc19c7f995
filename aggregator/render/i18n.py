"""The chrome of pages and widget in English and French (post content is never translated).

Every date a reader sees (pages, widget, permalinks, search hits, emails) goes through
:func:`when`: one pattern, ``5 Mar 2024, 14:30 UTC`` / ``5 mars 2024, 14:30 UTC``, with the
month names from Babel's CLDR data for the language (issue 18).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

from aggregator.models import Mission, Tag, parse_iso
from aggregator.settings import Settings

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
        # the archive's search and permalink pages (aggregator serve)
        "site_title": "Peacekeeping mission feeds",
        "search_archive": "Search the archive",
        "archive_nav": "Archive",
        "query_label": "Words, \"phrases\", prefix*, AND, OR, NOT and filters",
        "sort": "Sort",
        "best_match": "Best match",
        "newest_first": "Newest first",
        "search": "Search",
        "filters": "Filters:",
        "accents": "Accents and case do not matter.",
        "bad_query": "This query cannot be read:",
        "match_1": "post matches",
        "match_n": "posts match",
        "download": "Download:",
        "download_cap": "(the first {n}; <code>aggregator export</code> has them all)",
        "follow": "Follow this search (public posts):",
        "alerts": "Email alerts",
        "alert_name": "Alert name",
        "alert_email": "Email",
        "alert_every": "How often",
        "daily": "Daily",
        "hourly": "Hourly",
        "alert_save": "Email me new matches of this search",
        "alert_remove": "Remove",
        "refine": "Refine",
        "facet_mission": "Mission",
        "facet_source": "Source",
        "facet_lang": "Language",
        "unknown": "unknown",
        "per_month_title": "Matching posts per month, {a} to {b}",
        "per_month": "Posts per month: {a} to {b}",
        "repost": "repost",
        "reply_lower": "reply",
        "hidden_by_editor": "Hidden by an editor",
        "at_source": "{what} at the source",
        "no_match": "No posts match. Try fewer words, a prefix such as <code>elect*</code>, or "
        "remove a filter.",
        "next_page": "Next page",
        "signed_in": "Signed in as {name}: hidden and removed posts are shown, flagged",
        "not_found": "Post not found",
        "not_public": "This post is not in the public archive.",
        "noted": "noted {when}",
        "archived_copy": "This is the archived copy.",
        "published": "Published",
        "missions": "Missions",
        "tagged_lower": "tagged because",
        "none": "none",
        "author": "Author",
        "collected": "Collected",
        "version": "version {n}",
        "original_link": "Original",
        "avail_deleted": "Deleted",
        "avail_protected": "Protected",
        "avail_withheld": "Withheld",
        "avail_suspended": "Suspended",
        "avail_unavailable": "Unavailable",
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
        "site_title": "Flux des missions de maintien de la paix",
        "search_archive": "Rechercher dans les archives",
        "archive_nav": "Archives",
        "query_label": "Mots, « expressions », préfixe*, AND, OR, NOT et filtres",
        "sort": "Trier",
        "best_match": "Pertinence",
        "newest_first": "Plus récentes d’abord",
        "search": "Rechercher",
        "filters": "Filtres :",
        "accents": "Les accents et la casse n’ont pas d’importance.",
        "bad_query": "Cette requête ne peut pas être lue :",
        "match_1": "publication correspond",
        "match_n": "publications correspondent",
        "download": "Télécharger :",
        "download_cap": "(les {n} premières ; <code>aggregator export</code> les donne toutes)",
        "follow": "Suivre cette recherche (publications publiques) :",
        "alerts": "Alertes par courriel",
        "alert_name": "Nom de l’alerte",
        "alert_email": "Courriel",
        "alert_every": "Fréquence",
        "daily": "Quotidienne",
        "hourly": "Toutes les heures",
        "alert_save": "M’envoyer les nouveaux résultats de cette recherche",
        "alert_remove": "Supprimer",
        "refine": "Affiner",
        "facet_mission": "Mission",
        "facet_source": "Source",
        "facet_lang": "Langue",
        "unknown": "inconnue",
        "per_month_title": "Publications correspondantes par mois, de {a} à {b}",
        "per_month": "Publications par mois : de {a} à {b}",
        "repost": "republication",
        "reply_lower": "réponse",
        "hidden_by_editor": "Masquée par l’équipe éditoriale",
        "at_source": "{what} à la source",
        "no_match": "Aucune publication ne correspond. Essayez moins de mots, un préfixe comme "
        "<code>élect*</code>, ou retirez un filtre.",
        "next_page": "Page suivante",
        "signed_in": "Connecté en tant que {name} : les publications masquées ou retirées sont "
        "affichées et signalées",
        "not_found": "Publication introuvable",
        "not_public": "Cette publication ne figure pas dans les archives publiques.",
        "noted": "constaté le {when}",
        "archived_copy": "Ceci est la copie archivée.",
        "published": "Publiée",
        "missions": "Missions",
        "tagged_lower": "classée ici car",
        "none": "aucune",
        "author": "Auteur",
        "collected": "Collectée",
        "version": "version {n}",
        "original_link": "Original",
        "avail_deleted": "Supprimée",
        "avail_protected": "Protégée",
        "avail_withheld": "Retenue",
        "avail_suspended": "Compte suspendu",
        "avail_unavailable": "Indisponible",
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


DATE_PATTERN = "d MMM y, HH:mm"  # CLDR pattern; Babel fills in the language's month names


def zone_label(local: datetime) -> str:
    """"UTC", or its offset as "UTC+2" / "UTC-4:30": the same words in every language."""
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if not minutes:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def when(value: datetime | str | None, lang: str = "en", tz: tzinfo = UTC) -> str:
    """A moment as every output shows it, in ``lang`` and the time zone ``tz``."""
    moment = parse_iso(value) if isinstance(value, str) else value
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    locale = lang if lang in LANGUAGES else "en"
    return f"{format_datetime(local, DATE_PATTERN, tzinfo=tz, locale=locale)} {zone_label(local)}"


def number(value: int, lang: str = "en") -> str:
    """A count with the language's digit grouping: 1,204 / 1 204."""
    return format_decimal(value, locale=lang if lang in LANGUAGES else "en")


def site_title(settings: Settings, lang: str) -> str:
    """The site's title in ``lang``: ``site_title_fr`` on French pages when set, else the
    French default while ``site_title`` is the default, else ``site_title``."""
    if lang == "fr" and settings.site_title_fr:
        return settings.site_title_fr
    default = STRINGS["en"]["site_title"]
    return t(lang, "site_title") if settings.site_title == default else settings.site_title
