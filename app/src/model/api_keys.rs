//! API keys: what an org's code may do through `/v1`, and the page that manages them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::AppError;
use crate::model::{MemberRow, OrgView};

/// What a key may do. A key also acts as a member: the member's rights apply on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    Lookups,
    Numbers,
    Calls,
    Messages,
    UsageRead,
    Budgets,
    Alerts,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::Lookups,
        Scope::Numbers,
        Scope::Calls,
        Scope::Messages,
        Scope::UsageRead,
        Scope::Budgets,
        Scope::Alerts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Lookups => "lookups",
            Scope::Numbers => "numbers",
            Scope::Calls => "calls",
            Scope::Messages => "messages",
            Scope::UsageRead => "usage:read",
            Scope::Budgets => "budgets",
            Scope::Alerts => "alerts",
        }
    }

    /// The form field of the scope's checkbox.
    pub fn field(self) -> &'static str {
        match self {
            Scope::Lookups => "scope_lookups",
            Scope::Numbers => "scope_numbers",
            Scope::Calls => "scope_calls",
            Scope::Messages => "scope_messages",
            Scope::UsageRead => "scope_usage",
            Scope::Budgets => "scope_budgets",
            Scope::Alerts => "scope_alerts",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scope::Lookups => "look numbers up (paid on a cache miss)",
            Scope::Numbers => "search, buy, change and release numbers",
            Scope::Calls => "place calls, read call history and recordings",
            Scope::Messages => "send and read SMS",
            Scope::UsageRead => "read what the org spends and its monthly statements",
            Scope::Budgets => "read budgets and destination rules and, acting as an owner or admin, set them and resume paused destinations",
            Scope::Alerts => "read notifications and, acting as an owner or admin, manage webhooks",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Scope, AppError> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| AppError::validation("scopes", format!("Unknown scope {s:?}.")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    /// `phk_<public id>_…`: enough to recognise the key, never the secret.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub acting_as: String,
    pub created_by: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeysPage {
    pub org: OrgView,
    pub keys: Vec<ApiKeyRow>,
    /// Members a new key may act as (only for those who can create keys).
    pub members: Vec<MemberRow>,
    pub me: i64,
}

/// A key just created: the only time its secret is shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub id: i64,
    pub name: String,
    pub key: String,
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
