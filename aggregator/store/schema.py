"""The archive's schema, declared explicitly and created by versioned migrations.

Each migration is a function registered on ``MIGRATIONS``; they run in order, once each,
inside a transaction (sqlite-utils ``Migrations``). Never edit a migration that has
shipped: add a new one below it. Table and column descriptions live in ``DESCRIPTIONS``
so that Datasette and ``docs/archive.md`` can show them.
"""

from __future__ import annotations

import json

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("aggregator")

FTS_TOKENIZE = "unicode61 remove_diacritics 2"


@MIGRATIONS(name="0001_initial")
def _initial(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE missions (
            acronym TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            established INTEGER,
            closed INTEGER,
            country TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE sources (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            mission TEXT,
            url TEXT,
            handle TEXT,
            x_user_id TEXT,
            permanent_url TEXT,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            cursor TEXT,
            state TEXT NOT NULL DEFAULT 'new',
            state_reason TEXT,
            due_at TEXT,
            interval_seconds INTEGER,
            last_attempt_at TEXT,
            last_success_at TEXT,
            last_error TEXT,
            last_error_kind TEXT,
            last_error_at TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            posts_added_total INTEGER NOT NULL DEFAULT 0,
            last_posts_added INTEGER NOT NULL DEFAULT 0,
            newest_post_at TEXT,
            lease_owner TEXT,
            lease_until TEXT,
            disabled INTEGER NOT NULL DEFAULT 0,
            warnings TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE posts (
            id TEXT PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id),
            kind TEXT NOT NULL,
            external_id TEXT NOT NULL,
            url TEXT,
            canonical_url TEXT,
            author TEXT NOT NULL DEFAULT '',
            author_handle TEXT,
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            html TEXT NOT NULL DEFAULT '',
            language TEXT,
            published_at TEXT,
            updated_at TEXT,
            collected_at TEXT NOT NULL,
            sort_at TEXT NOT NULL,
            media TEXT NOT NULL DEFAULT '[]',
            links TEXT NOT NULL DEFAULT '[]',
            hashtags TEXT NOT NULL DEFAULT '[]',
            mentions TEXT NOT NULL DEFAULT '[]',
            is_retweet INTEGER NOT NULL DEFAULT 0,
            is_reply INTEGER NOT NULL DEFAULT 0,
            is_quote INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            raw TEXT NOT NULL DEFAULT '{}',
            availability TEXT NOT NULL DEFAULT 'available',
            availability_note TEXT,
            availability_at TEXT
        )"""
    )
    db.execute("CREATE INDEX posts_source_sort ON posts(source_id, sort_at DESC)")
    db.execute("CREATE INDEX posts_sort ON posts(sort_at DESC)")
    db.execute("CREATE INDEX posts_canonical_url ON posts(canonical_url)")
    db.execute(
        """
        CREATE TABLE post_versions (
            post_id TEXT NOT NULL REFERENCES posts(id),
            version INTEGER NOT NULL,
            collected_at TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            raw TEXT NOT NULL,
            PRIMARY KEY (post_id, version)
        )"""
    )
    # Tags decided by rules; recomputed on retag. sort_at is copied from posts so that
    # "newest N visible posts of mission M" is one index range scan.
    db.execute(
        """
        CREATE TABLE post_tags (
            post_id TEXT NOT NULL REFERENCES posts(id),
            mission TEXT NOT NULL,
            rule TEXT NOT NULL,
            matched TEXT NOT NULL DEFAULT '',
            decided_by TEXT NOT NULL DEFAULT 'rule',
            sort_at TEXT NOT NULL,
            PRIMARY KEY (post_id, mission)
        )"""
    )
    db.execute("CREATE INDEX post_tags_mission_sort ON post_tags(mission, sort_at DESC)")
    # Editors' decisions on tags: they always win over rules and survive retagging.
    db.execute(
        """
        CREATE TABLE tag_decisions (
            post_id TEXT NOT NULL REFERENCES posts(id),
            mission TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('add', 'remove')),
            editor TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            decided_at TEXT NOT NULL,
            PRIMARY KEY (post_id, mission)
        )"""
    )
    db.execute(
        """
        CREATE TABLE moderation (
            post_id TEXT PRIMARY KEY REFERENCES posts(id),
            hidden INTEGER NOT NULL DEFAULT 0,
            hidden_by TEXT,
            hidden_at TEXT,
            hidden_note TEXT,
            pinned INTEGER NOT NULL DEFAULT 0,
            pinned_by TEXT,
            pinned_at TEXT,
            pinned_note TEXT
        )"""
    )
    db.execute(
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            editor TEXT NOT NULL,
            action TEXT NOT NULL,
            post_id TEXT,
            mission TEXT,
            note TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            trigger TEXT NOT NULL DEFAULT 'collect',
            sources_total INTEGER NOT NULL DEFAULT 0,
            sources_failed INTEGER NOT NULL DEFAULT 0,
            posts_added INTEGER NOT NULL DEFAULT 0,
            posts_updated INTEGER NOT NULL DEFAULT 0,
            summary TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    db.execute(
        """
        CREATE TABLE source_events (
            id INTEGER PRIMARY KEY,
            run_id INTEGER REFERENCES runs(id),
            source_id TEXT NOT NULL,
            at TEXT NOT NULL,
            outcome TEXT NOT NULL,
            posts_added INTEGER NOT NULL DEFAULT 0,
            posts_updated INTEGER NOT NULL DEFAULT 0,
            duration_s REAL NOT NULL DEFAULT 0,
            error TEXT,
            error_kind TEXT
        )"""
    )
    db.execute("CREATE INDEX source_events_source_at ON source_events(source_id, at DESC)")
    db.execute(
        """
        CREATE TABLE service_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.table("posts").enable_fts(
        ["title", "text", "author"], fts_version="FTS5", create_triggers=True,
        tokenize=FTS_TOKENIZE,
    )


DESCRIPTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "missions": ("The peacekeeping missions configured in feeds/", {}),
    "sources": (
        "Every feed and X account collected, with its fetch state",
        {
            "id": "feed:<url> or x:<handle>",
            "cursor": "X since_id: the newest post id committed",
            "state": "ok, backing_off, stale, rate_limited, gone, disabled, new",
            "due_at": "next time the source may be collected (UTC)",
            "publish_gap_seconds": "how often the source publishes (median gap between posts)",
        },
    ),
    "posts": (
        "Normalized posts; the latest version of each, raw payload beside it",
        {
            "sort_at": "published_at, or collected_at when the source gave no date",
            "raw": "the entry exactly as the source gave it (JSON)",
            "availability": "available, deleted, protected, withheld, suspended (at the source)",
        },
    ),
    "post_tags": ("Missions each post was tagged with by the rules, and why", {}),
    "tag_decisions": ("Editors' additions and removals of missions; they win over rules", {}),
    "moderation": ("Hidden and pinned posts, with who, when and why", {}),
    "audit_log": ("Every editor action", {}),
    "runs": ("One row per collection run", {}),
    "source_events": ("One row per source per run: outcome, posts, duration, error", {}),
}


# --- 0060-0069: editors, sign-in sessions, sign-in failures (issue 8) -------------------


@MIGRATIONS(name="0060_editors")
def _editors(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE editors (
            name TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0,
            disabled_at TEXT
        )"""
    )
    # Server-side sessions: the cookie holds a random token, the table only its SHA-256,
    # so a copy of the archive cannot be replayed as a cookie. Revoked on sign-out.
    db.execute(
        """
        CREATE TABLE editor_sessions (
            token_hash TEXT PRIMARY KEY,
            editor TEXT NOT NULL REFERENCES editors(name),
            csrf_token TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT,
            address TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute(
        """
        CREATE TABLE signin_failures (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            name TEXT NOT NULL,
            address TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX signin_failures_at ON signin_failures(at)")
    db.execute("CREATE INDEX audit_log_post ON audit_log(post_id, at)")


DESCRIPTIONS.update(
    {
        "editors": ("Editor accounts (scrypt password hashes); disabled, never deleted", {}),
        "editor_sessions": (
            "Moderation page sign-ins: SHA-256 of the cookie token, CSRF token, expiry, revocation",
            {},
        ),
        "signin_failures": ("Failed sign-ins by name and address, for rate limiting", {}),
    }
)


# --- 0070-0079: local media copies (issue 5) ----------------------------------------------


@MIGRATIONS(name="0070_media_fetches")
def _media_fetches(db: Database) -> None:
    # One row per image of a post we tried to copy under output/media/; a post with a row
    # is never retried automatically. A failed copy leaves a link to the original.
    db.execute(
        """
        CREATE TABLE media_fetches (
            post_id TEXT NOT NULL REFERENCES posts(id),
            url TEXT NOT NULL,
            outcome TEXT NOT NULL,
            local_path TEXT,
            bytes INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            attempted_at TEXT NOT NULL,
            PRIMARY KEY (post_id, url)
        )"""
    )


# --- 0030-0039: the scheduled service (issue 4) -------------------------------------------


@MIGRATIONS(name="0030_service")
def _service(db: Database) -> None:
    # When a source entered its current state (for "failing or stale longer than N hours"
    # alerts) and when the one ops alert about that state was sent.
    db.execute("ALTER TABLE sources ADD COLUMN state_since TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN alerted_at TEXT")
    db.execute("CREATE INDEX sources_due_at ON sources(due_at)")


# --- 0050-0059: search ranking (issue 7) ---------------------------------------------------


@MIGRATIONS(name="0050_search_rank")
def _search_rank(db: Database) -> None:
    # FTS5's `rank` becomes bm25 weighted by column: a word in the title counts 4 times,
    # in the text once, in the author name half. Stored in posts_fts_config, so plain
    # sqlite3 and Datasette rank the same way.
    db.execute("INSERT INTO posts_fts(posts_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0, 0.5)')")


DESCRIPTIONS["posts_fts"] = (
    "Full-text index of posts (title, text, author); unicode61, accents removed",
    {},
)


# --- 0020-0029: X collection (issue 3) ------------------------------------------------------


@MIGRATIONS(name="0020_x")
def _x(db: Database) -> None:
    # What X bills: one charge per resource (post or user) per UTC day. A row per resource
    # read per day; the first source that read it that day carries the charge.
    db.execute(
        """
        CREATE TABLE x_reads (
            day TEXT NOT NULL,
            unit TEXT NOT NULL CHECK (unit IN ('post', 'user')),
            item_id TEXT NOT NULL,
            source_id TEXT,
            read_at TEXT NOT NULL,
            PRIMARY KEY (day, unit, item_id)
        )"""
    )
    db.execute("CREATE INDEX x_reads_source_day ON x_reads(source_id, day)")
    # A 429 pauses every source on the same token and endpoint until the reset time.
    db.execute(
        """
        CREATE TABLE x_pauses (
            scope TEXT PRIMARY KEY,
            until TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            set_at TEXT NOT NULL
        )"""
    )
    # What X said about a post's availability (deleted, protected, withheld, suspended).
    # Kept apart from posts so that a mark made before the post is first stored still
    # applies: the trigger copies it onto the post when the post arrives.
    db.execute(
        """
        CREATE TABLE x_availability (
            post_id TEXT PRIMARY KEY,
            availability TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TRIGGER x_availability_on_insert AFTER INSERT ON posts
        WHEN EXISTS (SELECT 1 FROM x_availability WHERE post_id = NEW.id)
        BEGIN
            UPDATE posts SET
                availability = (SELECT availability FROM x_availability WHERE post_id = NEW.id),
                availability_note = (SELECT note FROM x_availability WHERE post_id = NEW.id),
                availability_at = (SELECT at FROM x_availability WHERE post_id = NEW.id)
            WHERE id = NEW.id;
        END"""
    )
    db.execute("ALTER TABLE sources ADD COLUMN x_handle_seen TEXT")


DESCRIPTIONS.update({
    "x_reads": (
        "X resources read per UTC day, as X bills them (one charge per resource per day)",
        {"unit": "post or user", "source_id": "the source whose read carried the charge"},
    ),
    "x_pauses": (
        "Rate-limit pauses shared by every X source on one token and endpoint",
        {"scope": "x:<token env var>:<endpoint>", "until": "no call before this time (UTC)"},
    ),
    "x_availability": (
        "Posts X reported deleted, protected, withheld or suspended; copied onto posts",
        {},
    ),
})


# Copies X's availability mark onto a post when its version row is written (0021; created
# again by 0032, which rebuilds post_versions). The text is what 0021 shipped.
X_AVAILABILITY_ON_VERSION = """
        CREATE TRIGGER x_availability_on_version AFTER INSERT ON post_versions
        WHEN EXISTS (
            SELECT 1 FROM x_availability a JOIN posts p ON p.id = a.post_id
            WHERE a.post_id = NEW.post_id AND p.availability != a.availability
        )
        BEGIN
            UPDATE posts SET
                availability = (SELECT availability FROM x_availability WHERE post_id = NEW.post_id),
                availability_note = (SELECT note FROM x_availability WHERE post_id = NEW.post_id),
                availability_at = (SELECT at FROM x_availability WHERE post_id = NEW.post_id)
            WHERE id = NEW.post_id;
        END"""


@MIGRATIONS(name="0021_x_availability_trigger")
def _x_availability_trigger(db: Database) -> None:
    # 0020's trigger updated posts from inside its own AFTER INSERT, before the FTS insert
    # trigger had run, which corrupts the external-content FTS index. Copy the mark when the
    # post's version row is written instead: by then the post and its FTS row exist.
    db.execute("DROP TRIGGER IF EXISTS x_availability_on_insert")
    db.execute(X_AVAILABILITY_ON_VERSION)


# --- 0040-0049: the email digest (issue 6) ------------------------------------------------


@MIGRATIONS(name="0040_digest")
def _digest(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE subscribers (
            list_name TEXT NOT NULL,
            email TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'unsubscribed')),
            added_at TEXT NOT NULL,
            unsubscribed_at TEXT,
            unsubscribed_via TEXT,
            PRIMARY KEY (list_name, email)
        )"""
    )
    # One row per digest of one list: its window is fixed when the run opens, so a resumed
    # run sends the same posts under the same Message-IDs.
    db.execute(
        """
        CREATE TABLE digest_runs (
            id INTEGER PRIMARY KEY,
            list_name TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'complete', 'empty')),
            posts INTEGER NOT NULL DEFAULT 0,
            opened_at TEXT NOT NULL,
            finished_at TEXT,
            lease_owner TEXT,
            lease_until TEXT
        )"""
    )
    db.execute("CREATE INDEX digest_runs_list ON digest_runs(list_name, window_end DESC)")
    db.execute("CREATE INDEX IF NOT EXISTS posts_collected_at ON posts(collected_at)")
    db.execute(
        """
        CREATE TABLE digest_run_posts (
            run_id INTEGER NOT NULL REFERENCES digest_runs(id),
            post_id TEXT NOT NULL REFERENCES posts(id),
            PRIMARY KEY (run_id, post_id)
        )"""
    )
    db.execute(
        """
        CREATE TABLE digest_sends (
            run_id INTEGER NOT NULL REFERENCES digest_runs(id),
            email TEXT NOT NULL,
            message_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('in_flight', 'sent', 'deferred', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            smtp_code INTEGER,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (run_id, email)
        )"""
    )


@MIGRATIONS(name="0031_publish_gap")
def _publish_gap(db: Database) -> None:
    # How often the source publishes (median gap between its posts' times, as last seen in
    # a fetch): a source is stale only when its newest post is old for ITS cadence.
    db.execute("ALTER TABLE sources ADD COLUMN publish_gap_seconds INTEGER")


# Descriptions of tables made by later migrations: declared at module level so that they
# are known whether or not the migration ran in this process (Datasette metadata, docs).
DESCRIPTIONS["media_fetches"] = (
    "Images of posts copied (or not) under output/media/: outcome, local path, error",
    {"outcome": "stored, too_large, not_image, http_error, refused"},
)
DESCRIPTIONS["service_state"] = (
    "The running service's heartbeat, last tick summary and lock holder",
    {"key": "heartbeat, last_tick, ...", "value": "JSON"},
)
DESCRIPTIONS["subscribers"] = (
    "Recipients of each digest list (personal data: never exported to output/)",
    {"status": "active or unsubscribed", "unsubscribed_via": "link, cli"},
)
DESCRIPTIONS["digest_runs"] = (
    "One digest of one list: its window (collected_at range) and whether it is done",
    {"status": "open (sending or interrupted), complete, empty (nothing new, not sent)"},
)
DESCRIPTIONS["digest_run_posts"] = ("The posts each digest carries, frozen at open", {})
DESCRIPTIONS["digest_sends"] = (
    "The exactly-once ledger: one row per recipient of a digest, recorded before sending",
    {"status": "in_flight (handed to SMTP, outcome unknown), sent, deferred (4xx), failed (5xx)"},
)


# --- 0032: each raw entry stored once (issue 2) ----------------------------------------------


@MIGRATIONS(name="0032_versions_raw_once")
def _versions_raw_once(db: Database) -> None:
    # The raw entry of the version a post shows now is in posts.raw; its post_versions row
    # kept a second copy (about a third of the archive). Now that row's raw is NULL, and it
    # is filled in when a newer version supersedes it. SQLite cannot drop NOT NULL in place:
    # rebuild the table, then restore the trigger that lives on it.
    db.execute(
        """
        CREATE TABLE post_versions_new (
            post_id TEXT NOT NULL REFERENCES posts(id),
            version INTEGER NOT NULL,
            collected_at TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            raw TEXT,
            PRIMARY KEY (post_id, version)
        )"""
    )
    db.execute(
        """
        INSERT INTO post_versions_new (post_id, version, collected_at, content_hash, raw)
        SELECT v.post_id, v.version, v.collected_at, v.content_hash,
               CASE WHEN p.version = v.version THEN NULL ELSE v.raw END
        FROM post_versions v LEFT JOIN posts p ON p.id = v.post_id"""
    )
    db.execute("DROP TABLE post_versions")
    db.execute("ALTER TABLE post_versions_new RENAME TO post_versions")
    db.execute(X_AVAILABILITY_ON_VERSION)
    # Every version with its raw entry, the current one included, for sqlite3 and Datasette.
    db.execute(
        """
        CREATE VIEW post_history AS
        SELECT v.post_id, v.version, v.collected_at, v.content_hash,
               COALESCE(v.raw, p.raw) AS raw, v.raw IS NULL AS is_current
        FROM post_versions v JOIN posts p ON p.id = v.post_id"""
    )


DESCRIPTIONS["post_versions"] = (
    "Every version of a post ever collected; raw is NULL for the version shown now "
    "(its raw entry is posts.raw): read post_history for every version with its raw entry",
    {"raw": "the superseded version's entry as the source gave it (JSON); NULL if current"},
)
DESCRIPTIONS["post_history"] = (
    "Every version of every post with its raw entry (a view over post_versions and posts)",
    {},
)


# --- 0090: X compliance (issue 14) ----------------------------------------------------------


@MIGRATIONS(name="0090_x_compliance")
def _x_compliance(db: Database) -> None:
    # Where the current mark came from: the post itself ('post'), its account ('account'),
    # or the post it retweets or quotes ('retweet:x:<id>'); an account that comes back
    # clears only account-level marks, a post that comes back clears its retweets' marks.
    db.execute("ALTER TABLE x_availability ADD COLUMN via TEXT NOT NULL DEFAULT 'post'")
    # Every mark X reported, applied or not (a weaker one never silently replaces a
    # stronger one), with its time.
    db.execute(
        """
        CREATE TABLE x_availability_history (
            id INTEGER PRIMARY KEY,
            post_id TEXT NOT NULL,
            availability TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            via TEXT NOT NULL DEFAULT 'post',
            at TEXT NOT NULL,
            applied INTEGER NOT NULL DEFAULT 1
        )"""
    )
    db.execute("CREATE INDEX x_availability_history_post ON x_availability_history(post_id, id)")
    db.execute(
        "INSERT INTO x_availability_history (post_id, availability, note, via, at)"
        " SELECT post_id, availability, note, 'post', at FROM x_availability ORDER BY at"
    )
    # Which stored X post retweets, quotes or replies to which post (from its raw entry),
    # so that a retweet or quote follows its original when that goes.
    db.execute(
        """
        CREATE TABLE x_refs (
            post_id TEXT NOT NULL,
            ref_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            PRIMARY KEY (post_id, ref_id, kind)
        )"""
    )
    db.execute("CREATE INDEX x_refs_ref ON x_refs(ref_id)")
    db.execute(X_REFS_ON_INSERT)
    db.execute(
        "INSERT OR IGNORE INTO x_refs (post_id, ref_id, kind)"
        " SELECT p.id, 'x:' || json_extract(r.value, '$.id'), json_extract(r.value, '$.type')"
        " FROM posts p, json_each(p.raw, '$.tweet.referenced_tweets') r"
        " WHERE p.kind = 'x' AND json_valid(p.raw) AND json_extract(r.value, '$.id') IS NOT NULL"
    )
    # Each run of `aggregator x recheck` (or of the service's recheck): what it cost.
    db.execute(
        """
        CREATE TABLE x_rechecks (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            trigger TEXT NOT NULL,
            posts_checked INTEGER NOT NULL,
            lookups INTEGER NOT NULL,
            posts_charged INTEGER NOT NULL,
            changed INTEGER NOT NULL,
            note TEXT
        )"""
    )


X_REFS_ON_INSERT = """
        CREATE TRIGGER x_refs_on_insert AFTER INSERT ON posts WHEN NEW.kind = 'x'
        BEGIN
            INSERT OR IGNORE INTO x_refs (post_id, ref_id, kind)
            SELECT NEW.id, 'x:' || json_extract(r.value, '$.id'), json_extract(r.value, '$.type')
            FROM json_each(CASE WHEN json_valid(NEW.raw) THEN NEW.raw ELSE '{}' END,
                           '$.tweet.referenced_tweets') r
            WHERE json_extract(r.value, '$.id') IS NOT NULL;
        END"""


DESCRIPTIONS.update({
    "x_availability_history": (
        "Every availability mark X reported for a post, with its time; applied = 0 when a "
        "stronger mark stayed (a deleted post reported protected stays deleted)",
        {"via": "post, account, or retweet:/quoted:<post id> for a mark that follows the original"},
    ),
    "x_refs": (
        "Which X post retweets (retweeted), quotes (quoted) or replies to (replied_to) which",
        {"ref_id": "x:<status id> of the referenced post"},
    ),
    "x_rechecks": (
        "Each re-check of stored X posts through the tweets lookup, and what it cost",
        {"posts_charged": "posts X billed (not already read the same UTC day)"},
    ),
})


@MIGRATIONS(name="0100_pending_renders_and_run_owners")
def _pending_renders_and_run_owners(db: Database) -> None:
    """Missions to re-render, written with the posts that change them (issue 15), and who
    ran each collection run, so the next start can close a run whose process was killed."""
    db.execute(
        """
        CREATE TABLE pending_renders (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            mission TEXT NOT NULL UNIQUE,
            marked_at TEXT NOT NULL
        )"""
    )
    row = db.execute(
        "SELECT value, updated_at FROM service_state WHERE key = 'pending_render'"
    ).fetchone()
    if row is not None:  # the list the service used to keep after the fact
        try:
            missions = json.loads(row[0])
        except ValueError:
            missions = []
        for mission in missions if isinstance(missions, list) else []:
            db.execute(
                "INSERT OR REPLACE INTO pending_renders (mission, marked_at) VALUES (?, ?)",
                [str(mission), row[1]],
            )
        db.execute("DELETE FROM service_state WHERE key = 'pending_render'")
    db.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN interrupted_at TEXT")


DESCRIPTIONS["pending_renders"] = (
    "Missions whose stored posts changed and whose pages are not rendered yet; marked in the "
    "transaction that stores the posts, cleared by the render that publishes them",
    {"id": "grows with every mark: a render clears only the marks it saw before it read posts"},
)
DESCRIPTIONS["runs"][1].update({
    "owner": "host:pid:nonce of the process that ran it",
    "interrupted_at": "set when a later start found the run's process gone before it finished",
})


@MIGRATIONS(name="0090a_x_catching_up")
def _x_catching_up(db: Database) -> None:
    # A burst larger than x.max_pages: the posts after x_gap_since and before x_gap_until
    # (X status ids) are still to read; later runs read them, older pages first (#14).
    db.execute("ALTER TABLE sources ADD COLUMN x_gap_since TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN x_gap_until TEXT")


DESCRIPTIONS["sources"][1].update({
    "x_gap_since": "X: catching up after a burst; posts newer than this id are still to read...",
    "x_gap_until": "...and older than this one (NULL: nothing left to read)",
})


@MIGRATIONS(name="0090b_x_aliases")
def _x_aliases(db: Database) -> None:
    # Every other id an X post is known by (its versions' ids): a bridge links to an edited
    # post's latest version, the API names it by its first (#14).
    db.execute("CREATE TABLE x_aliases (alias TEXT PRIMARY KEY, post_id TEXT NOT NULL)")
    db.execute(
        "INSERT OR IGNORE INTO x_aliases (alias, post_id)"
        " SELECT 'x:' || h.value, p.id FROM posts p,"
        " json_each(p.raw, '$.tweet.edit_history_tweet_ids') h"
        " WHERE p.kind = 'x' AND json_valid(p.raw) AND 'x:' || h.value != p.id"
    )


DESCRIPTIONS["x_aliases"] = (
    "Other ids of an X post (its edits' status ids): a bridge's link to the latest version "
    "finds the post stored under its first version's id, and the other way round",
    {"alias": "x:<status id> of one version", "post_id": "the id the post is stored under"},
)


# --- 0120: roles per mission, throttled sign-ins, signing keys (issue 17) ---------------------


@MIGRATIONS(name="0120_editor_roles")
def _editor_roles(db: Database) -> None:
    # Accounts made before roles existed could act on everything: they stay admins.
    db.execute("ALTER TABLE editors ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'")
    db.execute("ALTER TABLE editors ADD COLUMN last_sign_in_at TEXT")
    db.execute(
        """
        CREATE TABLE editor_missions (
            editor TEXT NOT NULL REFERENCES editors(name),
            mission TEXT NOT NULL,
            PRIMARY KEY (editor, mission)
        )"""
    )
    # What the editor is told once signed in (failed sign-ins on the account meanwhile).
    db.execute("ALTER TABLE editor_sessions ADD COLUMN notice TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX signin_failures_name ON signin_failures(name, at)")
    db.execute("CREATE INDEX signin_failures_address ON signin_failures(address, at)")
    # Random keys made on first use (sign-in form tokens, known-browser cookies).
    db.execute(
        """
        CREATE TABLE web_keys (
            name TEXT PRIMARY KEY,
            key TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX audit_log_at ON audit_log(at)")
    # The desk's "flagged at the source" filter: the few deleted/withheld posts, by index.
    db.execute(
        "CREATE INDEX posts_flagged ON posts(availability) WHERE availability != 'available'"
    )


DESCRIPTIONS["editor_missions"] = ("The missions an editor (role 'editor') may act on", {})
DESCRIPTIONS["web_keys"] = (
    "Random keys of `aggregator serve` (signing sign-in tokens and known-browser cookies)",
    {"key": "secret: never exported"},
)


# --- 0130: where each post's language came from (issue 18) ----------------------------


@MIGRATIONS(name="0130_language_origin")
def m0130_language_origin(db: Database) -> None:
    # NULL origin: collected before 0130 (`aggregator relang` fills it in).
    db.execute("ALTER TABLE posts ADD COLUMN language_origin TEXT")
    db.execute("ALTER TABLE posts ADD COLUMN language_confidence REAL")


DESCRIPTIONS["posts"][1].update({
    "language": "BCP 47 language tag (en, fr-CA); und when there is nothing to tell it from",
    "language_origin": "entry (the post declared it), feed (its feed or source did) or "
    "detected (from the text); NULL: collected before issue 18, see `aggregator relang`",
    "language_confidence": "the detector's probability (0-1) when the language was detected",
})


@MIGRATIONS(name="0130a_alerts")
def m0130a_alerts(db: Database) -> None:
    # Saved searches that send alerts (#18 item 2). The recipient is a subscriber of the
    # list "alert.<name>" and each alert email a run of the digest ledger (digest_runs,
    # digest_run_posts, digest_sends): exactly once, one-click unsubscribe, as for digests.
    db.execute(
        """
        CREATE TABLE alerts (
            name TEXT PRIMARY KEY,
            query TEXT NOT NULL,
            email TEXT NOT NULL,
            every TEXT NOT NULL DEFAULT 'daily',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL DEFAULT ''
        )"""
    )


DESCRIPTIONS["alerts"] = (
    "Saved searches that email new matching posts (aggregator alerts; list alert.<name>)",
    {"every": "hourly or daily", "created_by": "cli, or the editor who saved it on /search"},
)
