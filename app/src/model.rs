//! Data that crosses the wire (never a hash or token) and the input rules shared by browser and server.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::AppError;

pub mod alerts;
pub mod api_keys;
pub mod budgets;
pub mod call_blocks;
pub mod calls;
pub mod compliance;
pub mod countries;
pub mod cursor;
#[cfg(feature = "ssr")]
pub mod dates;
pub mod destinations;
pub mod invitations;
pub mod keywords;
pub mod lookup;
pub mod message_status;
pub mod money;
pub mod numbers;
pub mod opt_outs;
pub mod phone_config;
pub mod quiet_hours;
pub mod requests;
pub mod routes;
pub mod sms;
pub mod statements;
pub mod usage;

/// A URL query string (with or without its `?`) as name/value pairs.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

/// The first value of `name` in `pairs`, trimmed; empty when absent.
pub fn query_value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

/// The org slug in a page's path (`/o/{slug}/…`), if any: the org the nav bar shows.
pub fn org_in_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/o/")?;
    let slug = rest.split('/').next()?;
    (!slug.is_empty()).then(|| slug.to_string())
}

pub const MAX_EMAIL: usize = 254;
pub const MAX_NAME: usize = 100;
pub const MIN_PASSWORD: usize = 10;
pub const MAX_PASSWORD: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }

    pub fn manages(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, AppError> {
        match s.trim() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(AppError::validation(
                "role",
                "Choose a role: owner, admin or member.",
            )),
        }
    }
}

/// How the signed-in user relates to the org being viewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    Member(Role),
    /// Support staff: read-only view of any org.
    Support,
    /// Superadmin: manages every org.
    Superadmin,
}

impl Access {
    pub fn can_manage(self) -> bool {
        match self {
            Access::Member(r) => r.manages(),
            Access::Superadmin => true,
            Access::Support => false,
        }
    }
    pub fn read_only(self) -> bool {
        matches!(self, Access::Support)
    }
    /// Decides what only owners decide (the org's country and time zone): owners and the
    /// superadmin.
    pub fn is_owner(self) -> bool {
        matches!(self, Access::Member(Role::Owner) | Access::Superadmin)
    }
    /// Sees the org's admin pages (costs, configuration, every number): managers and support.
    pub fn oversees(self) -> bool {
        self.can_manage() || self.read_only()
    }
    pub fn label(self) -> &'static str {
        match self {
            Access::Member(r) => r.label(),
            Access::Support => "Support (read-only)",
            Access::Superadmin => "Superadmin",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgLink {
    pub slug: String,
    pub name: String,
}

/// The signed-in user as the browser sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub is_support: bool,
    pub is_superadmin: bool,
    /// The account was made with a password someone else chose: the account page asks for a new
    /// one, and nothing else opens until then.
    pub must_change_password: bool,
    /// Orgs the user belongs to (staff: every org), for the switcher.
    pub orgs: Vec<OrgLink>,
    /// The unread notifications of the org the nav shows (asked for by the nav only; None
    /// otherwise, or while the database cannot be reached).
    pub bell: Option<alerts::Bell>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgView {
    pub slug: String,
    pub name: String,
    /// ISO 3166 alpha-2: national numbers typed in this org are read in this country.
    pub country: String,
    /// That country's English name (None for a code the server's table does not know): the pages'
    /// phone hints and the dashboard name it, and the country table stays out of the browser.
    pub country_name: Option<String>,
    pub access: Access,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub org: OrgView,
    pub members: i64,
    pub owners: i64,
    pub admins: i64,
    pub plain_members: i64,
    pub created: String,
    /// The country form's choices, (code, name) sorted by name: for owners (who see the form);
    /// empty for everyone else.
    pub countries: Vec<(String, String)>,
    /// The org's time zone (an IANA name): its budgets' days and months and its monthly
    /// statements follow it.
    pub time_zone: String,
    /// The time zone form's choices (every country's main zone, and UTC), sorted: for owners
    /// (who see the form); empty for everyone else.
    pub time_zones: Vec<String>,
    /// The budgets that cover what the viewer spends here (the org's and their own), with this
    /// period's figures; empty for support staff.
    pub budgets: Vec<budgets::BudgetView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub since: String,
    /// An owner or admin let this member send urgent texts in quiet hours (owners and admins
    /// may always).
    pub may_send_urgent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub org: OrgView,
    pub me: i64,
    pub members: Vec<MemberRow>,
    /// Open invitations (by e-mail only): not members until accepted.
    pub invitations: Vec<invitations::InvitationRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrgRow {
    pub slug: String,
    pub name: String,
    pub members: i64,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub is_support: bool,
    pub is_superadmin: bool,
    pub orgs: i64,
}

/// Trims and lower-cases an e-mail address and checks its shape.
pub fn parse_email(field: &str, raw: &str) -> Result<String, AppError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(AppError::validation(field, "Enter an e-mail address."));
    }
    if s.chars().count() > MAX_EMAIL {
        return Err(AppError::validation(
            field,
            format!("An e-mail address is at most {MAX_EMAIL} characters."),
        ));
    }
    let (local, domain) = match s.split_once('@') {
        Some(parts) => parts,
        None => {
            return Err(AppError::validation(
                field,
                "That is not an e-mail address (it has no @).",
            ))
        }
    };
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(AppError::validation(
            field,
            "That is not a valid e-mail address (like name@example.com).",
        ));
    }
    Ok(s.to_lowercase())
}

pub fn check_new_password(field: &str, pw: &str) -> Result<(), AppError> {
    let n = pw.chars().count();
    if n < MIN_PASSWORD {
        return Err(AppError::validation(
            field,
            format!("Use at least {MIN_PASSWORD} characters."),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(AppError::validation(
            field,
            format!("Use at most {MAX_PASSWORD} characters."),
        ));
    }
    Ok(())
}

/// Checks that `text` (typed into `field`, already trimmed) is one line of at most `max`
/// characters; the error names it as `what` ("the reason").
pub fn one_line(field: &str, text: &str, max: usize, what: &str) -> Result<(), AppError> {
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(AppError::validation(
            field,
            format!("Write {what} on one line, in at most {max} characters."),
        ));
    }
    Ok(())
}

pub fn parse_name(field: &str, raw: &str, required: bool) -> Result<String, AppError> {
    let s = raw.trim();
    if required && s.is_empty() {
        return Err(AppError::validation(field, "Enter a name."));
    }
    if s.chars().count() > MAX_NAME {
        return Err(AppError::validation(
            field,
            format!("A name is at most {MAX_NAME} characters."),
        ));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(AppError::validation(
            field,
            "A name cannot contain control characters.",
        ));
    }
    Ok(s.to_string())
}

/// Org slugs appear in URLs: lower-case letters, digits and inner dashes, 1–40 characters.
pub fn parse_slug(field: &str, raw: &str) -> Result<String, AppError> {
    let s = raw.trim().to_lowercase();
    if s.is_empty() {
        return Err(AppError::validation(field, "Enter a URL name, like acme."));
    }
    if s.len() > 40 {
        return Err(AppError::validation(
            field,
            "A URL name is at most 40 characters.",
        ));
    }
    let valid_chars = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_chars || s.starts_with('-') || s.ends_with('-') {
        return Err(AppError::validation(
            field,
            "Use only letters, digits and dashes (not at the start or end).",
        ));
    }
    if matches!(s.as_str(), "admin" | "api" | "new") {
        return Err(AppError::validation(field, "That URL name is reserved."));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_org_slug_in_org_paths_only() {
        assert_eq!(org_in_path("/o/acme/members").as_deref(), Some("acme"));
        assert_eq!(org_in_path("/o/acme").as_deref(), Some("acme"));
        assert_eq!(org_in_path("/account"), None);
        assert_eq!(org_in_path("/o/"), None);
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            parse_email("e", "  Admin@Acme.TEST ").unwrap(),
            "admin@acme.test"
        );
        for bad in [
            "",
            "   ",
            "nobody",
            "a@b",
            "@acme.test",
            "a@.test",
            "a b@acme.test",
            "a@acme.test.",
        ] {
            assert!(parse_email("e", bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("{}@acme.test", "x".repeat(10_000));
        assert!(matches!(
            parse_email("e", &long),
            Err(AppError::Validation { .. })
        ));
    }

    #[test]
    fn slugs_follow_url_rules() {
        assert_eq!(parse_slug("s", " Acme-2 ").unwrap(), "acme-2");
        for bad in [
            "",
            "-acme",
            "acme-",
            "ac me",
            "acmé",
            "admin",
            &"a".repeat(41),
        ] {
            assert!(parse_slug("s", bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(check_new_password("p", "short").is_err());
        assert!(check_new_password("p", &"x".repeat(129)).is_err());
        assert!(check_new_password("p", "long enough pw").is_ok());
    }

    #[test]
    fn roles_parse_from_form_values() {
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert!("boss".parse::<Role>().is_err());
        assert!(Access::Member(Role::Owner).can_manage());
        assert!(!Access::Member(Role::Member).can_manage());
        assert!(!Access::Support.can_manage());
    }
}
