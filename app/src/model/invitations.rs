//! Invitations to join an org: the org's side (by e-mail only) and the invitee's side.

use serde::{Deserialize, Serialize};

use crate::model::Role;

/// How long an invitation can be accepted, in days.
pub const VALID_DAYS: i32 = 7;

/// An open invitation as the inviting org sees it: the address it was sent to and nothing about
/// the account behind it (whether there is one, its name) until it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// When it lapses (UTC, `YYYY-MM-DD HH:MM`).
    pub expires: String,
    /// Lapsed: it can no longer be accepted (revoke it, or invite again).
    pub expired: bool,
}

/// An invitation waiting for the signed-in user, on their home page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyInvitation {
    pub id: i64,
    pub org_name: String,
    pub role: Role,
    /// The e-mail of whoever sent it (empty once their account is gone).
    pub invited_by: String,
    /// When it lapses (UTC, `YYYY-MM-DD HH:MM`).
    pub expires: String,
}
