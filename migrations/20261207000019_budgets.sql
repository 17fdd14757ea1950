-- Money guard, part 1: budgets with hard caps, reserved before any provider request.
--
-- An org's periods (day, month) are its own: orgs get a time zone, by default their country's
-- main zone (the first zone listed for it in tzdata's zone.tab, except where that is not where
-- most people live: Canada, Australia, Brazil, Russia and Ukraine take their most populous zone).
CREATE TABLE country_time_zones (
    country   TEXT PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    time_zone TEXT NOT NULL
);
INSERT INTO country_time_zones (country, time_zone) VALUES
    ('AD', 'Europe/Andorra'),
    ('AE', 'Asia/Dubai'),
    ('AF', 'Asia/Kabul'),
    ('AG', 'America/Antigua'),
    ('AI', 'America/Anguilla'),
    ('AL', 'Europe/Tirane'),
    ('AM', 'Asia/Yerevan'),
    ('AO', 'Africa/Luanda'),
    ('AQ', 'Antarctica/McMurdo'),
    ('AR', 'America/Argentina/Buenos_Aires'),
    ('AS', 'Pacific/Pago_Pago'),
    ('AT', 'Europe/Vienna'),
    ('AU', 'Australia/Sydney'),
    ('AW', 'America/Aruba'),
    ('AX', 'Europe/Mariehamn'),
    ('AZ', 'Asia/Baku'),
    ('BA', 'Europe/Sarajevo'),
    ('BB', 'America/Barbados'),
    ('BD', 'Asia/Dhaka'),
    ('BE', 'Europe/Brussels'),
    ('BF', 'Africa/Ouagadougou'),
    ('BG', 'Europe/Sofia'),
    ('BH', 'Asia/Bahrain'),
    ('BI', 'Africa/Bujumbura'),
    ('BJ', 'Africa/Porto-Novo'),
    ('BL', 'America/St_Barthelemy'),
    ('BM', 'Atlantic/Bermuda'),
    ('BN', 'Asia/Brunei'),
    ('BO', 'America/La_Paz'),
    ('BQ', 'America/Kralendijk'),
    ('BR', 'America/Sao_Paulo'),
    ('BS', 'America/Nassau'),
    ('BT', 'Asia/Thimphu'),
    ('BW', 'Africa/Gaborone'),
    ('BY', 'Europe/Minsk'),
    ('BZ', 'America/Belize'),
    ('CA', 'America/Toronto'),
    ('CC', 'Indian/Cocos'),
    ('CD', 'Africa/Kinshasa'),
    ('CF', 'Africa/Bangui'),
    ('CG', 'Africa/Brazzaville'),
    ('CH', 'Europe/Zurich'),
    ('CI', 'Africa/Abidjan'),
    ('CK', 'Pacific/Rarotonga'),
    ('CL', 'America/Santiago'),
    ('CM', 'Africa/Douala'),
    ('CN', 'Asia/Shanghai'),
    ('CO', 'America/Bogota'),
    ('CR', 'America/Costa_Rica'),
    ('CU', 'America/Havana'),
    ('CV', 'Atlantic/Cape_Verde'),
    ('CW', 'America/Curacao'),
    ('CX', 'Indian/Christmas'),
    ('CY', 'Asia/Nicosia'),
    ('CZ', 'Europe/Prague'),
    ('DE', 'Europe/Berlin'),
    ('DJ', 'Africa/Djibouti'),
    ('DK', 'Europe/Copenhagen'),
    ('DM', 'America/Dominica'),
    ('DO', 'America/Santo_Domingo'),
    ('DZ', 'Africa/Algiers'),
    ('EC', 'America/Guayaquil'),
    ('EE', 'Europe/Tallinn'),
    ('EG', 'Africa/Cairo'),
    ('EH', 'Africa/El_Aaiun'),
    ('ER', 'Africa/Asmara'),
    ('ES', 'Europe/Madrid'),
    ('ET', 'Africa/Addis_Ababa'),
    ('FI', 'Europe/Helsinki'),
    ('FJ', 'Pacific/Fiji'),
    ('FK', 'Atlantic/Stanley'),
    ('FM', 'Pacific/Chuuk'),
    ('FO', 'Atlantic/Faroe'),
    ('FR', 'Europe/Paris'),
    ('GA', 'Africa/Libreville'),
    ('GB', 'Europe/London'),
    ('GD', 'America/Grenada'),
    ('GE', 'Asia/Tbilisi'),
    ('GF', 'America/Cayenne'),
    ('GG', 'Europe/Guernsey'),
    ('GH', 'Africa/Accra'),
    ('GI', 'Europe/Gibraltar'),
    ('GL', 'America/Nuuk'),
    ('GM', 'Africa/Banjul'),
    ('GN', 'Africa/Conakry'),
    ('GP', 'America/Guadeloupe'),
    ('GQ', 'Africa/Malabo'),
    ('GR', 'Europe/Athens'),
    ('GS', 'Atlantic/South_Georgia'),
    ('GT', 'America/Guatemala'),
    ('GU', 'Pacific/Guam'),
    ('GW', 'Africa/Bissau'),
    ('GY', 'America/Guyana'),
    ('HK', 'Asia/Hong_Kong'),
    ('HN', 'America/Tegucigalpa'),
    ('HR', 'Europe/Zagreb'),
    ('HT', 'America/Port-au-Prince'),
    ('HU', 'Europe/Budapest'),
    ('ID', 'Asia/Jakarta'),
    ('IE', 'Europe/Dublin'),
    ('IL', 'Asia/Jerusalem'),
    ('IM', 'Europe/Isle_of_Man'),
    ('IN', 'Asia/Kolkata'),
    ('IO', 'Indian/Chagos'),
    ('IQ', 'Asia/Baghdad'),
    ('IR', 'Asia/Tehran'),
    ('IS', 'Atlantic/Reykjavik'),
    ('IT', 'Europe/Rome'),
    ('JE', 'Europe/Jersey'),
    ('JM', 'America/Jamaica'),
    ('JO', 'Asia/Amman'),
    ('JP', 'Asia/Tokyo'),
    ('KE', 'Africa/Nairobi'),
    ('KG', 'Asia/Bishkek'),
    ('KH', 'Asia/Phnom_Penh'),
    ('KI', 'Pacific/Tarawa'),
    ('KM', 'Indian/Comoro'),
    ('KN', 'America/St_Kitts'),
    ('KP', 'Asia/Pyongyang'),
    ('KR', 'Asia/Seoul'),
    ('KW', 'Asia/Kuwait'),
    ('KY', 'America/Cayman'),
    ('KZ', 'Asia/Almaty'),
    ('LA', 'Asia/Vientiane'),
    ('LB', 'Asia/Beirut'),
    ('LC', 'America/St_Lucia'),
    ('LI', 'Europe/Vaduz'),
    ('LK', 'Asia/Colombo'),
    ('LR', 'Africa/Monrovia'),
    ('LS', 'Africa/Maseru'),
    ('LT', 'Europe/Vilnius'),
    ('LU', 'Europe/Luxembourg'),
    ('LV', 'Europe/Riga'),
    ('LY', 'Africa/Tripoli'),
    ('MA', 'Africa/Casablanca'),
    ('MC', 'Europe/Monaco'),
    ('MD', 'Europe/Chisinau'),
    ('ME', 'Europe/Podgorica'),
    ('MF', 'America/Marigot'),
    ('MG', 'Indian/Antananarivo'),
    ('MH', 'Pacific/Majuro'),
    ('MK', 'Europe/Skopje'),
    ('ML', 'Africa/Bamako'),
    ('MM', 'Asia/Yangon'),
    ('MN', 'Asia/Ulaanbaatar'),
    ('MO', 'Asia/Macau'),
    ('MP', 'Pacific/Saipan'),
    ('MQ', 'America/Martinique'),
    ('MR', 'Africa/Nouakchott'),
    ('MS', 'America/Montserrat'),
    ('MT', 'Europe/Malta'),
    ('MU', 'Indian/Mauritius'),
    ('MV', 'Indian/Maldives'),
    ('MW', 'Africa/Blantyre'),
    ('MX', 'America/Mexico_City'),
    ('MY', 'Asia/Kuala_Lumpur'),
    ('MZ', 'Africa/Maputo'),
    ('NA', 'Africa/Windhoek'),
    ('NC', 'Pacific/Noumea'),
    ('NE', 'Africa/Niamey'),
    ('NF', 'Pacific/Norfolk'),
    ('NG', 'Africa/Lagos'),
    ('NI', 'America/Managua'),
    ('NL', 'Europe/Amsterdam'),
    ('NO', 'Europe/Oslo'),
    ('NP', 'Asia/Kathmandu'),
    ('NR', 'Pacific/Nauru'),
    ('NU', 'Pacific/Niue'),
    ('NZ', 'Pacific/Auckland'),
    ('OM', 'Asia/Muscat'),
    ('PA', 'America/Panama'),
    ('PE', 'America/Lima'),
    ('PF', 'Pacific/Tahiti'),
    ('PG', 'Pacific/Port_Moresby'),
    ('PH', 'Asia/Manila'),
    ('PK', 'Asia/Karachi'),
    ('PL', 'Europe/Warsaw'),
    ('PM', 'America/Miquelon'),
    ('PN', 'Pacific/Pitcairn'),
    ('PR', 'America/Puerto_Rico'),
    ('PS', 'Asia/Gaza'),
    ('PT', 'Europe/Lisbon'),
    ('PW', 'Pacific/Palau'),
    ('PY', 'America/Asuncion'),
    ('QA', 'Asia/Qatar'),
    ('RE', 'Indian/Reunion'),
    ('RO', 'Europe/Bucharest'),
    ('RS', 'Europe/Belgrade'),
    ('RU', 'Europe/Moscow'),
    ('UA', 'Europe/Kyiv'),
    ('RW', 'Africa/Kigali'),
    ('SA', 'Asia/Riyadh'),
    ('SB', 'Pacific/Guadalcanal'),
    ('SC', 'Indian/Mahe'),
    ('SD', 'Africa/Khartoum'),
    ('SE', 'Europe/Stockholm'),
    ('SG', 'Asia/Singapore'),
    ('SH', 'Atlantic/St_Helena'),
    ('SI', 'Europe/Ljubljana'),
    ('SJ', 'Arctic/Longyearbyen'),
    ('SK', 'Europe/Bratislava'),
    ('SL', 'Africa/Freetown'),
    ('SM', 'Europe/San_Marino'),
    ('SN', 'Africa/Dakar'),
    ('SO', 'Africa/Mogadishu'),
    ('SR', 'America/Paramaribo'),
    ('SS', 'Africa/Juba'),
    ('ST', 'Africa/Sao_Tome'),
    ('SV', 'America/El_Salvador'),
    ('SX', 'America/Lower_Princes'),
    ('SY', 'Asia/Damascus'),
    ('SZ', 'Africa/Mbabane'),
    ('TC', 'America/Grand_Turk'),
    ('TD', 'Africa/Ndjamena'),
    ('TF', 'Indian/Kerguelen'),
    ('TG', 'Africa/Lome'),
    ('TH', 'Asia/Bangkok'),
    ('TJ', 'Asia/Dushanbe'),
    ('TK', 'Pacific/Fakaofo'),
    ('TL', 'Asia/Dili'),
    ('TM', 'Asia/Ashgabat'),
    ('TN', 'Africa/Tunis'),
    ('TO', 'Pacific/Tongatapu'),
    ('TR', 'Europe/Istanbul'),
    ('TT', 'America/Port_of_Spain'),
    ('TV', 'Pacific/Funafuti'),
    ('TW', 'Asia/Taipei'),
    ('TZ', 'Africa/Dar_es_Salaam'),
    ('UG', 'Africa/Kampala'),
    ('UM', 'Pacific/Midway'),
    ('US', 'America/New_York'),
    ('UY', 'America/Montevideo'),
    ('UZ', 'Asia/Samarkand'),
    ('VA', 'Europe/Vatican'),
    ('VC', 'America/St_Vincent'),
    ('VE', 'America/Caracas'),
    ('VG', 'America/Tortola'),
    ('VI', 'America/St_Thomas'),
    ('VN', 'Asia/Ho_Chi_Minh'),
    ('VU', 'Pacific/Efate'),
    ('WF', 'Pacific/Wallis'),
    ('WS', 'Pacific/Apia'),
    ('YE', 'Asia/Aden'),
    ('YT', 'Indian/Mayotte'),
    ('ZA', 'Africa/Johannesburg'),
    ('ZM', 'Africa/Lusaka'),
    ('ZW', 'Africa/Harare');

ALTER TABLE orgs ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC',
    ADD CONSTRAINT orgs_time_zone_len CHECK (char_length(time_zone) BETWEEN 1 AND 64);
UPDATE orgs o SET time_zone = z.time_zone FROM country_time_zones z WHERE z.country = o.country;

-- The start (a local date) of the day or month `at` falls in, in time zone `tz`.
CREATE FUNCTION budget_period(period TEXT, at TIMESTAMPTZ, tz TEXT) RETURNS DATE
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc(period, at AT TIME ZONE tz)::date
$$;

-- A budget: for the org (user_id NULL) or one member, for everything (category NULL) or one
-- category, per local day or month. A hard cap refuses what would pass it; otherwise it only
-- alerts.
CREATE TABLE budgets (
    id            BIGSERIAL PRIMARY KEY,
    org_id        BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id       BIGINT REFERENCES users (id) ON DELETE CASCADE,
    category      TEXT,
    period        TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    hard_cap      BOOLEAN NOT NULL,
    created_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT budgets_category CHECK (category IN ('calls', 'sms', 'lookups', 'numbers')),
    CONSTRAINT budgets_period CHECK (period IN ('day', 'month')),
    CONSTRAINT budgets_amount CHECK (amount_micros BETWEEN 0 AND 1000000000000),
    CONSTRAINT budgets_scope UNIQUE NULLS NOT DISTINCT (org_id, user_id, category, period)
);

-- What each budget's period has spent (booked by triggers on the tables that hold the charges,
-- like usage_daily) and holds (reserved by paid actions under way). Reserving locks these rows
-- in budget id order, which serialises every server's paid actions against one budget.
CREATE TABLE budget_usage (
    budget_id    BIGINT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start DATE NOT NULL,
    spent_micros BIGINT NOT NULL DEFAULT 0,
    held_micros  BIGINT NOT NULL DEFAULT 0,
    extra_micros BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (budget_id, period_start),
    CONSTRAINT budget_usage_held CHECK (held_micros >= 0),
    CONSTRAINT budget_usage_extra CHECK (extra_micros >= 0)
);

-- One-off overrides: extra room in one period of a budget, granted with a reason (also audited).
CREATE TABLE budget_overrides (
    id           BIGSERIAL PRIMARY KEY,
    budget_id    BIGINT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start DATE NOT NULL,
    extra_micros BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    granted_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    granted_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT budget_overrides_extra CHECK (extra_micros BETWEEN 1 AND 1000000000000),
    CONSTRAINT budget_overrides_reason CHECK (char_length(reason) BETWEEN 1 AND 500)
);
CREATE INDEX budget_overrides_budget_idx ON budget_overrides (budget_id, period_start);

-- A paid action's reservation, until its real price is written (settled) or it failed
-- (released). One left open by a crash is released when it expires.
CREATE TABLE spend_holds (
    id         BIGSERIAL PRIMARY KEY,
    org_id     BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    category   TEXT NOT NULL,
    micros     BIGINT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'open',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT spend_holds_micros CHECK (micros > 0),
    CONSTRAINT spend_holds_state CHECK (state IN ('open', 'settled', 'released'))
);
CREATE INDEX spend_holds_open_idx ON spend_holds (expires_at) WHERE state = 'open';

CREATE TABLE spend_hold_rows (
    hold_id      BIGINT NOT NULL REFERENCES spend_holds (id) ON DELETE CASCADE,
    budget_id    BIGINT NOT NULL,
    period_start DATE NOT NULL,
    PRIMARY KEY (hold_id, budget_id),
    FOREIGN KEY (budget_id, period_start) REFERENCES budget_usage (budget_id, period_start) ON DELETE CASCADE
);

ALTER TABLE messages ADD COLUMN hold_id BIGINT REFERENCES spend_holds (id) ON DELETE SET NULL;
ALTER TABLE owned_numbers ADD COLUMN hold_id BIGINT REFERENCES spend_holds (id) ON DELETE SET NULL;
ALTER TABLE calls ADD COLUMN hold_id BIGINT REFERENCES spend_holds (id) ON DELETE SET NULL,
    -- The TimeLimit the call was placed with (a hard cap covered it), in seconds.
    ADD COLUMN time_limit_secs INT CHECK (time_limit_secs BETWEEN 1 AND 14400);

-- What the org, user and category spent in [from, to): the starting figure of a budget created
-- mid-period.
CREATE FUNCTION budget_spent(p_org BIGINT, p_user BIGINT, p_cat TEXT, p_from TIMESTAMPTZ, p_to TIMESTAMPTZ)
RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(m), 0)::bigint FROM (
        SELECT sum(cost_micros + recording_cost_micros) AS m FROM calls
        WHERE org_id = p_org AND (p_user IS NULL OR user_id = p_user)
          AND (p_cat IS NULL OR p_cat = 'calls') AND created_at >= p_from AND created_at < p_to
        UNION ALL
        SELECT sum(cost_micros) FROM messages
        WHERE org_id = p_org AND (p_user IS NULL OR user_id = p_user)
          AND (p_cat IS NULL OR p_cat = 'sms') AND created_at >= p_from AND created_at < p_to
        UNION ALL
        SELECT sum(cost_micros) FROM lookup_events
        WHERE org_id = p_org AND (p_user IS NULL OR user_id = p_user)
          AND (p_cat IS NULL OR p_cat = 'lookups') AND created_at >= p_from AND created_at < p_to
        UNION ALL
        SELECT sum(micros) FROM number_charges
        WHERE org_id = p_org AND (p_user IS NULL OR user_id = p_user)
          AND (p_cat IS NULL OR p_cat = 'numbers')
          AND month >= (p_from AT TIME ZONE 'UTC')::date AND month < (p_to AT TIME ZONE 'UTC')::date
    ) x
$$;

-- Books spend deltas (org, user, category, when, micros) on every budget that covers them, in
-- budget id order (the order reservations lock in).
CREATE FUNCTION budget_book(deltas JSONB) RETURNS void LANGUAGE sql AS $$
    INSERT INTO budget_usage AS u (budget_id, period_start, spent_micros)
    SELECT b.id, budget_period(b.period, d.at, o.time_zone), sum(d.micros)
    FROM jsonb_to_recordset(deltas) AS d(org_id BIGINT, user_id BIGINT, category TEXT, at TIMESTAMPTZ, micros BIGINT)
    JOIN orgs o ON o.id = d.org_id
    JOIN budgets b ON b.org_id = d.org_id
        AND (b.user_id IS NULL OR b.user_id = d.user_id)
        AND (b.category IS NULL OR b.category = d.category)
    WHERE d.micros <> 0
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (budget_id, period_start) DO UPDATE
        SET spent_micros = u.spent_micros + EXCLUDED.spent_micros
$$;

CREATE FUNCTION budget_book_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM budgets) THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM budget_book(coalesce(jsonb_agg(jsonb_build_object('org_id', org_id, 'user_id', user_id,
            'category', 'calls', 'at', created_at, 'micros', cost_micros + recording_cost_micros)), '[]'))
        FROM new_rows WHERE cost_micros + recording_cost_micros <> 0;
    ELSE
        PERFORM budget_book(coalesce(jsonb_agg(jsonb_build_object('org_id', n.org_id, 'user_id', n.user_id,
            'category', 'calls', 'at', n.created_at,
            'micros', (n.cost_micros + n.recording_cost_micros) - (o.cost_micros + o.recording_cost_micros))), '[]'))
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.cost_micros + n.recording_cost_micros) <> (o.cost_micros + o.recording_cost_micros);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER calls_budget_insert AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION budget_book_calls();
CREATE TRIGGER calls_budget_update AFTER UPDATE ON calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION budget_book_calls();

CREATE FUNCTION budget_book_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM budgets) THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM budget_book(coalesce(jsonb_agg(jsonb_build_object('org_id', org_id, 'user_id', user_id,
            'category', 'sms', 'at', created_at, 'micros', cost_micros)), '[]'))
        FROM new_rows WHERE cost_micros <> 0;
    ELSE
        PERFORM budget_book(coalesce(jsonb_agg(jsonb_build_object('org_id', n.org_id, 'user_id', n.user_id,
            'category', 'sms', 'at', n.created_at, 'micros', n.cost_micros - o.cost_micros)), '[]'))
        FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.cost_micros <> o.cost_micros;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_budget_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION budget_book_messages();
CREATE TRIGGER messages_budget_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION budget_book_messages();

CREATE FUNCTION budget_book_lookups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM budgets) THEN RETURN NULL; END IF;
    PERFORM budget_book(coalesce(jsonb_agg(jsonb_build_object('org_id', org_id, 'user_id', user_id,
        'category', 'lookups', 'at', created_at, 'micros', cost_micros)), '[]'))
    FROM new_rows WHERE cost_micros <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER lookup_events_budget AFTER INSERT ON lookup_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION budget_book_lookups();

CREATE FUNCTION budget_book_numbers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM budgets) THEN RETURN NULL; END IF;
    PERFORM budget_book(coalesce(jsonb_agg(jsonb_build_object('org_id', org_id, 'user_id', user_id,
        'category', 'numbers', 'at', now(), 'micros', micros)), '[]'))
    FROM new_rows WHERE micros <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER number_charges_budget AFTER INSERT ON number_charges
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION budget_book_numbers();

-- Reserves, against every hard cap that covers (org, user, category) at `p_now`, as many units
-- of `p_unit` micros as every cap has room for, up to `p_max_units` (a message: one unit of its
-- price; a call: up to 240 minutes at its rate); or, with no room for one, names the tightest cap.
-- Locks the caps' rows of this period in budget id order: parallel reservations on any number of
-- servers queue there, so together they never pass a cap. No hard cap covers the action: no hold
-- and every unit (hold_id NULL, refused NULL).
CREATE FUNCTION budget_reserve(p_org BIGINT, p_user BIGINT, p_cat TEXT, p_unit BIGINT, p_max_units INT,
                               p_now TIMESTAMPTZ, p_ttl INTERVAL)
RETURNS TABLE (hold_id BIGINT, units INT, refused BIGINT, remaining BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    tz TEXT;
    r RECORD;
    least_left BIGINT;
    tightest BIGINT;
    n_units INT;
    h BIGINT;
BEGIN
    SELECT o.time_zone INTO tz FROM orgs o WHERE o.id = p_org;
    -- This period's rows of the covering caps, starting from what was already spent in it.
    INSERT INTO budget_usage (budget_id, period_start, spent_micros)
    SELECT b.id, budget_period(b.period, p_now, tz),
           budget_spent(p_org, b.user_id, b.category,
                        budget_period(b.period, p_now, tz)::timestamp AT TIME ZONE tz, p_now)
    FROM budgets b
    WHERE b.org_id = p_org AND b.hard_cap
      AND (b.user_id IS NULL OR b.user_id = p_user) AND (b.category IS NULL OR b.category = p_cat)
      AND NOT EXISTS (SELECT 1 FROM budget_usage u
                      WHERE u.budget_id = b.id AND u.period_start = budget_period(b.period, p_now, tz))
    ORDER BY b.id
    ON CONFLICT DO NOTHING;
    FOR r IN
        SELECT u.budget_id,
               b.amount_micros + u.extra_micros - u.spent_micros - u.held_micros AS left_micros
        FROM budgets b JOIN budget_usage u
          ON u.budget_id = b.id AND u.period_start = budget_period(b.period, p_now, tz)
        WHERE b.org_id = p_org AND b.hard_cap
          AND (b.user_id IS NULL OR b.user_id = p_user) AND (b.category IS NULL OR b.category = p_cat)
        ORDER BY b.id
        FOR UPDATE OF u
    LOOP
        IF least_left IS NULL OR r.left_micros < least_left THEN
            least_left := r.left_micros;
            tightest := r.budget_id;
        END IF;
    END LOOP;
    IF least_left IS NULL OR p_unit <= 0 THEN
        RETURN QUERY SELECT NULL::bigint, p_max_units, NULL::bigint, least_left;
        RETURN;
    END IF;
    n_units := least(p_max_units::bigint, greatest(least_left, 0) / p_unit)::int;
    IF n_units < 1 THEN
        RETURN QUERY SELECT NULL::bigint, 0, tightest, greatest(least_left, 0);
        RETURN;
    END IF;
    INSERT INTO spend_holds (org_id, user_id, category, micros, created_at, expires_at)
    VALUES (p_org, p_user, p_cat, n_units * p_unit, p_now, p_now + p_ttl) RETURNING id INTO h;
    INSERT INTO spend_hold_rows (hold_id, budget_id, period_start)
    SELECT h, u.budget_id, u.period_start
    FROM budgets b JOIN budget_usage u
      ON u.budget_id = b.id AND u.period_start = budget_period(b.period, p_now, tz)
    WHERE b.org_id = p_org AND b.hard_cap
      AND (b.user_id IS NULL OR b.user_id = p_user) AND (b.category IS NULL OR b.category = p_cat);
    UPDATE budget_usage u SET held_micros = u.held_micros + n_units * p_unit
    FROM spend_hold_rows s WHERE s.hold_id = h AND s.budget_id = u.budget_id AND s.period_start = u.period_start;
    RETURN QUERY SELECT h, n_units, NULL::bigint, least_left - n_units * p_unit;
END $$;

-- Ends a hold (its action's real price is written, or it failed): what it held is no longer
-- held. Idempotent: a hold ends once.
CREATE FUNCTION hold_end(p_hold BIGINT, p_state TEXT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m BIGINT;
BEGIN
    UPDATE spend_holds SET state = p_state WHERE id = p_hold AND state = 'open' RETURNING micros INTO m;
    IF m IS NULL THEN RETURN; END IF;
    -- In budget id order, as reservations lock (an UPDATE alone locks in any order).
    PERFORM 1 FROM budget_usage u
    WHERE (u.budget_id, u.period_start) IN (SELECT budget_id, period_start FROM spend_hold_rows
                                            WHERE hold_id = p_hold)
    ORDER BY u.budget_id, u.period_start FOR UPDATE;
    UPDATE budget_usage u SET held_micros = greatest(u.held_micros - m, 0)
    FROM spend_hold_rows s
    WHERE s.hold_id = p_hold AND s.budget_id = u.budget_id AND s.period_start = u.period_start;
END $$;

-- API keys may read and (acting as an owner or admin) set budgets.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check,
    ADD CONSTRAINT api_keys_scopes_check CHECK (
        cardinality(scopes) > 0
        AND scopes <@ ARRAY['lookups', 'numbers', 'calls', 'messages', 'usage:read', 'budgets']);

-- Ends many holds (a batch of lookup events) at once, locking their budgets' rows in budget id
-- order first, the order reservations lock in.
CREATE FUNCTION hold_end_many(p_holds BIGINT[], p_state TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(p_holds) = 0 THEN RETURN; END IF;
    PERFORM 1 FROM budget_usage u
    WHERE (u.budget_id, u.period_start) IN (SELECT budget_id, period_start FROM spend_hold_rows
                                            WHERE hold_id = ANY (p_holds))
    ORDER BY u.budget_id, u.period_start FOR UPDATE;
    PERFORM hold_end(h, p_state) FROM unnest(p_holds) h ORDER BY h;
END $$;

-- A bulk job that reaches a hard cap pauses: its rows not yet looked up are marked `capped` (not
-- lost), and resuming puts them back in the queue.
ALTER TABLE lookup_jobs DROP CONSTRAINT lookup_jobs_status,
    ADD CONSTRAINT lookup_jobs_status CHECK (status IN ('queued', 'running', 'done', 'failed', 'paused'));
ALTER TABLE lookup_job_rows DROP CONSTRAINT lookup_job_rows_status,
    ADD CONSTRAINT lookup_job_rows_status CHECK (status IN ('pending', 'done', 'error', 'capped'));

-- The provider took a message: its SID, estimated cost and first status (a failure callback that
-- beat this answer keeps it free), and its hold settled, in one round trip. The cost is written
-- first: its booking locks every budget it touches in budget id order, then the hold's rows
-- (among them) are already held.
CREATE FUNCTION message_accepted(p_id BIGINT, p_sid TEXT, p_estimate BIGINT, p_status TEXT)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    h BIGINT;
BEGIN
    UPDATE messages SET provider_sid = p_sid,
           cost_micros = CASE WHEN status = 'failed' THEN 0 ELSE p_estimate END,
           status = CASE WHEN status = 'queued' THEN p_status ELSE status END, updated_at = now()
    WHERE id = p_id RETURNING hold_id INTO h;
    IF h IS NOT NULL THEN
        PERFORM hold_end(h, 'settled');
    END IF;
END $$;
