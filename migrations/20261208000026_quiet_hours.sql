-- Quiet hours: texts reach people only within a sending window of their own local time. A text
-- written outside it is `scheduled` (kept, nothing charged) and sent when the window opens; an
-- urgent one (sent by an owner, an admin, or a member an admin allowed) goes at once, on the
-- record. No row: the default window, 8:00 to 21:00, on.
CREATE TABLE quiet_hours (
    org_id       BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    -- Minutes after local midnight: the window is [start_minute, end_minute).
    start_minute INT NOT NULL DEFAULT 480,
    end_minute   INT NOT NULL DEFAULT 1260,
    updated_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT quiet_hours_window CHECK (start_minute >= 0 AND end_minute <= 1440
                                         AND end_minute - start_minute >= 180)
);

-- A member an owner or admin allowed to send urgent texts in quiet hours (owners and admins
-- may always).
ALTER TABLE memberships ADD COLUMN may_send_urgent BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE messages ADD COLUMN send_after TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN urgent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE messages DROP CONSTRAINT messages_status;
ALTER TABLE messages ADD CONSTRAINT messages_status CHECK (status IN ('queued', 'sending', 'sent',
    'delivered', 'undelivered', 'failed', 'received', 'held', 'scheduled', 'canceled')) NOT VALID;
ALTER TABLE messages VALIDATE CONSTRAINT messages_status;
ALTER TABLE messages ADD CONSTRAINT messages_scheduled_when
    CHECK (status <> 'scheduled' OR send_after IS NOT NULL) NOT VALID;
ALTER TABLE messages VALIDATE CONSTRAINT messages_scheduled_when;
-- What the scheduler looks for: the texts whose window has opened, earliest first.
CREATE INDEX messages_scheduled ON messages (send_after) WHERE status = 'scheduled';

-- When a text to someone in time zones `p_zones` (their area code's; none: their country's, else
-- the org's) may go under org `p_org`'s quiet hours: NULL when it may go at `p_now`, else when
-- the window next opens in every one of the zones.
CREATE FUNCTION quiet_until(p_org BIGINT, p_zones TEXT[], p_country TEXT, p_now TIMESTAMPTZ)
RETURNS TIMESTAMPTZ LANGUAGE sql STABLE AS $$
    SELECT max(CASE WHEN l.m >= q.s AND l.m < q.e THEN NULL
                    WHEN l.m < q.s THEN (l.d + make_interval(mins => q.s)) AT TIME ZONE l.z
                    ELSE (l.d + interval '1 day' + make_interval(mins => q.s)) AT TIME ZONE l.z
               END)
    FROM (SELECT coalesce(h.enabled, true) AS en, coalesce(h.start_minute, 480) AS s,
                 coalesce(h.end_minute, 1260) AS e,
                 CASE WHEN cardinality(p_zones) > 0 THEN p_zones
                      ELSE ARRAY[coalesce((SELECT c.time_zone FROM country_time_zones c
                                           WHERE c.country = p_country), o.time_zone)] END AS zones
          FROM orgs o LEFT JOIN quiet_hours h ON h.org_id = o.id WHERE o.id = p_org) q,
         LATERAL (SELECT z, date_trunc('day', p_now AT TIME ZONE z) AS d,
                         (extract(hour FROM p_now AT TIME ZONE z) * 60
                          + extract(minute FROM p_now AT TIME ZONE z))::int AS m
                  FROM unnest(q.zones) AS z) l
    WHERE q.en
$$;
