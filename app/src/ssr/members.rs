//! The members use cases, one function each: who belongs to an org and with which role, the
//! invitations the org sends and revokes, and the invitee's answer to them. The org's side takes
//! the org context (who acts, with what access, from which address); the invitee's side takes
//! the signed-in user and their address. The rights beyond the guard, the input rules and the
//! audit entry are decided here; the server functions parse and present.

use crate::error::AppError;
use crate::model::invitations::{InvitationRow, MyInvitation};
use crate::model::{
    check_new_password, parse_email, parse_name, Access, MemberRow, MembersPage, Role,
};
use crate::ssr::auth::{hash_password, User};
use crate::ssr::db;
use crate::ssr::format;
use crate::ssr::guard::OrgCtx;
use crate::ssr::AppState;

/// Invitations one admin may send an org per hour.
const INVITATIONS_PER_HOUR: i64 = 50;

/// The members page: the org's members and its open invitations (by e-mail only).
pub async fn page(ctx: &OrgCtx) -> Result<MembersPage, AppError> {
    let members = rows(&ctx.state.pool, ctx.org_id).await?;
    let invitations = db::invitations::open_for_org(&ctx.state.pool, ctx.org_id).await?;
    Ok(MembersPage {
        org: ctx.view(),
        me: ctx.user.id,
        members,
        invitations: invitations
            .into_iter()
            .map(|i| InvitationRow {
                id: i.id,
                email: i.email,
                role: i.role,
                expires: format::utc_minute_plain(i.expires_at),
                expired: i.expired,
            })
            .collect(),
    })
}

/// The org's members as the pages list them (owners first), with the day each joined.
pub async fn rows(pool: &sqlx::PgPool, org_id: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
    let members = db::orgs::members(pool, org_id).await?;
    Ok(members
        .into_iter()
        .map(|m| MemberRow {
            user_id: m.user_id,
            email: m.email,
            name: m.name,
            role: m.role,
            since: format::utc_date(m.joined_at),
            may_send_urgent: m.may_send_urgent,
        })
        .collect())
}

/// The refusals that need the database, all checked before the password is hashed: the acting
/// admin's hourly limit, `email` already a member, and an open invitation for `email` already.
/// Returns the account `email` has, if any.
async fn refuse_before_hashing(ctx: &OrgCtx, email: &str) -> Result<Option<User>, AppError> {
    let pool = &ctx.state.pool;
    // Everything that can refuse the invitation is checked before the password is hashed, and
    // an admin sends at most so many an hour: hashing is the one expensive step, and its gate is
    // shared with everyone's logins.
    if db::invitations::sent_last_hour(pool, ctx.org_id, ctx.user.id).await? >= INVITATIONS_PER_HOUR
    {
        return Err(AppError::TooManyRequests(format!(
            "You have sent {INVITATIONS_PER_HOUR} invitations in the last hour: try again later."
        )));
    }
    let existing = db::users::by_email(pool, email).await?;
    if let Some(u) = &existing {
        if db::orgs::role_of(pool, ctx.org_id, u.id).await?.is_some() {
            return Err(AppError::validation(
                "email",
                format!("{email} is already a member of {}.", ctx.name),
            ));
        }
    }
    if db::invitations::open_exists(pool, ctx.org_id, email).await? {
        return Err(AppError::validation(
            "email",
            format!(
                "{email} has been invited to {} already: revoke that invitation to send another.",
                ctx.name
            ),
        ));
    }
    Ok(existing)
}

/// Within `tx`: the account for `email` (`existing`, or a new one with `name` and the password
/// `hash`), the invitation with `role`, and its audit entry. Refuses, and writes nothing that
/// stays, when `email` became a member or was invited in the meantime.
async fn store_invitation(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    ctx: &OrgCtx,
    email: &str,
    name: &str,
    hash: &str,
    role: Role,
    existing: Option<User>,
) -> Result<(), AppError> {
    let user_id = match existing {
        Some(u) => u.id,
        None => match db::users::create(&mut **tx, email, name, hash, true).await {
            Ok(id) => id,
            Err(sqlx::Error::Database(d)) if d.constraint() == Some("users_email_key") => {
                return Err(AppError::Conflict(
                    "That e-mail was registered a moment ago; submit the form again.".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        },
    };
    // Members are listed by e-mail on the members page already: saying so reveals nothing.
    if db::orgs::role_of(&mut **tx, ctx.org_id, user_id)
        .await?
        .is_some()
    {
        return Err(AppError::validation(
            "email",
            format!("{email} is already a member of {}.", ctx.name),
        ));
    }
    db::invitations::expire_lapsed(&mut **tx, ctx.org_id, email).await?;
    match db::invitations::create(&mut **tx, ctx.org_id, email, role, ctx.user.id).await {
        Ok(_) => {}
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("invitations_pending_key") => {
            return Err(AppError::validation(
                "email",
                format!(
                    "{email} has been invited to {} already: revoke that invitation to send another.",
                    ctx.name
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    // Whether an account was created is not the org's to know, nor its audit log's.
    ctx.audit(
        &mut **tx,
        "invitation.created",
        email,
        serde_json::json!({ "role": role.as_str() }),
    )
    .await?;
    Ok(())
}

/// Invites `email` to the org with `role` (as typed); they become a member once they accept.
/// An e-mail with no account gets one, with `password` as its initial password (the invitation
/// then waits for them at their first sign-in). `name` is the new account's name, if any.
#[tracing::instrument(skip(ctx, password), fields(org = %ctx.slug), err(level = "debug"))]
pub async fn invite(
    ctx: &OrgCtx,
    email: &str,
    role: &str,
    name: &str,
    password: Option<String>,
) -> Result<(), AppError> {
    ctx.must_manage()?;
    let email = parse_email("email", email)?;
    let role: Role = role.parse()?;
    let name = parse_name("name", name, false)?;
    if role == Role::Owner
        && !matches!(ctx.access, Access::Member(Role::Owner) | Access::Superadmin)
    {
        return Err(AppError::validation(
            "role",
            "Only owners can add another owner.",
        ));
    }
    // The same form, the same work and the same answers whether or not the e-mail has an account
    // already, so an org admin cannot probe who uses PhoneHub: the initial password is always
    // asked for (and always hashed: only the hashing takes long enough to time), used only for a
    // new account; either way the org gets an invitation it sees by e-mail alone, and a
    // membership only when the person behind the e-mail accepts it.
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Err(AppError::validation(
            "password",
            "Set an initial password (used only if this e-mail has no account yet).",
        ));
    };
    check_new_password("password", &password)?;
    let existing = refuse_before_hashing(ctx, &email).await?;
    let hash = hash_password(password).await?;
    let mut tx = ctx.state.pool.begin().await?;
    store_invitation(&mut tx, ctx, &email, &name, &hash, role, existing).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives member `user_id` the role `role`. Only owners grant or take away the owner role, and
/// the org's last owner keeps it. `false` when they had that role already (nothing changed, and
/// nothing is on the record).
#[tracing::instrument(skip(ctx), fields(org = %ctx.slug), err(level = "debug"))]
pub async fn change_role(ctx: &OrgCtx, user_id: i64, role: Role) -> Result<bool, AppError> {
    ctx.must_manage()?;
    let is_owner = matches!(ctx.access, Access::Member(Role::Owner) | Access::Superadmin);
    let mut tx = ctx.state.pool.begin().await?;
    let owners = db::orgs::lock_owners(&mut tx, ctx.org_id).await?;
    let current = db::orgs::role_of(&mut *tx, ctx.org_id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if (current == Role::Owner || role == Role::Owner) && !is_owner {
        return Err(AppError::Forbidden(
            "Only owners can grant or take away the owner role.".into(),
        ));
    }
    if current == Role::Owner && role != Role::Owner && owners.len() <= 1 {
        return Err(AppError::validation(
            "role",
            "This is the org's last owner: make someone else an owner first.",
        ));
    }
    if current == role {
        return Ok(false);
    }
    db::orgs::set_role(&mut *tx, ctx.org_id, user_id, role).await?;
    ctx.audit(
        &mut *tx,
        "member.role_changed",
        &user_id.to_string(),
        serde_json::json!({ "from": current.as_str(), "to": role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    ctx.state.known.forget_user(user_id);
    Ok(true)
}

/// Removes member `user_id` from the org, and ends the API keys they had or made there. Only
/// owners remove an owner, and the org's last owner stays.
#[tracing::instrument(skip(ctx), fields(org = %ctx.slug), err(level = "debug"))]
pub async fn remove(ctx: &OrgCtx, user_id: i64) -> Result<(), AppError> {
    ctx.must_manage()?;
    let is_owner = matches!(ctx.access, Access::Member(Role::Owner) | Access::Superadmin);
    let mut tx = ctx.state.pool.begin().await?;
    let owners = db::orgs::lock_owners(&mut tx, ctx.org_id).await?;
    let current = db::orgs::role_of(&mut *tx, ctx.org_id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if current == Role::Owner && !is_owner {
        return Err(AppError::Forbidden(
            "Only owners can remove an owner.".into(),
        ));
    }
    if current == Role::Owner && owners.len() <= 1 {
        return Err(AppError::Conflict(
            "This is the org's last owner and cannot be removed.".into(),
        ));
    }
    db::orgs::remove_member(&mut *tx, ctx.org_id, user_id).await?;
    // Their API keys, and keys they made, end with their membership.
    let keys = db::api_keys::revoke_for_member(&mut *tx, ctx.org_id, user_id, ctx.user.id).await?;
    ctx.audit(
        &mut *tx,
        "member.removed",
        &user_id.to_string(),
        serde_json::json!({ "role": current.as_str(), "api_keys_revoked": keys }),
    )
    .await?;
    tx.commit().await?;
    ctx.state.known.forget_user(user_id);
    Ok(())
}

/// The caller leaves the org (a membership someone else added them to is theirs to end), with
/// their API keys there, unless they are its last owner. Staff who are not members have nothing
/// to leave.
#[tracing::instrument(skip(ctx), fields(org = %ctx.slug), err(level = "debug"))]
pub async fn leave(ctx: &OrgCtx) -> Result<(), AppError> {
    let Access::Member(role) = ctx.access else {
        return Err(AppError::Conflict(
            "You are not a member of this org, so there is nothing to leave.".into(),
        ));
    };
    let mut tx = ctx.state.pool.begin().await?;
    let owners = db::orgs::lock_owners(&mut tx, ctx.org_id).await?;
    if role == Role::Owner && owners.len() <= 1 {
        return Err(AppError::Conflict(
            "You are this org's last owner: make someone else an owner first.".into(),
        ));
    }
    db::orgs::remove_member(&mut *tx, ctx.org_id, ctx.user.id).await?;
    let keys =
        db::api_keys::revoke_for_member(&mut *tx, ctx.org_id, ctx.user.id, ctx.user.id).await?;
    ctx.audit(
        &mut *tx,
        "member.left",
        &ctx.user.email,
        serde_json::json!({ "role": role.as_str(), "api_keys_revoked": keys }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Withdraws the org's open invitation `id` (lapsed or not); another org's is not found.
#[tracing::instrument(skip(ctx), fields(org = %ctx.slug), err(level = "debug"))]
pub async fn revoke_invitation(ctx: &OrgCtx, id: i64) -> Result<(), AppError> {
    ctx.must_manage()?;
    let mut tx = ctx.state.pool.begin().await?;
    let inv = db::invitations::revoke(&mut *tx, ctx.org_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut *tx,
        "invitation.revoked",
        &inv.email,
        serde_json::json!({ "role": inv.role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The invitations `user` can still accept, oldest first.
pub async fn open_invitations(
    state: &AppState,
    user: &User,
) -> Result<Vec<MyInvitation>, AppError> {
    let open = db::invitations::open_for_email(&state.pool, &user.email).await?;
    Ok(open
        .into_iter()
        .map(|i| MyInvitation {
            id: i.id,
            org_name: i.org_name,
            role: i.role,
            invited_by: i.invited_by,
            expires: format::utc_minute_plain(i.expires_at),
        })
        .collect())
}

/// Support staff read everything and write nothing: they neither join nor turn down orgs.
fn refuse_staff(user: &User) -> Result<(), AppError> {
    if user.is_support {
        return Err(AppError::Forbidden(
            "Support staff cannot join orgs: they read every org as staff.".into(),
        ));
    }
    Ok(())
}

/// `user` accepts invitation `id` addressed to them (from `ip`): they become a member with its
/// role. Returns the slug of the org they joined.
#[tracing::instrument(skip(state, user, ip), err(level = "debug"))]
pub async fn accept_invitation(
    state: &AppState,
    user: &User,
    id: i64,
    ip: Option<String>,
) -> Result<String, AppError> {
    refuse_staff(user)?;
    // Addressed to this user, open and not lapsed, and the membership, in one transaction.
    let mut tx = state.pool.begin().await?;
    let accepted = db::invitations::accept(&mut *tx, id, &user.email).await?;
    let Some(inv) = accepted else {
        if db::invitations::lapsed(&mut *tx, id, &user.email).await? {
            return Err(AppError::Conflict(
                "This invitation has expired: ask the org for a new one.".into(),
            ));
        }
        // Someone else's invitations do not exist for this user.
        return Err(AppError::NotFound);
    };
    // Already a member (added another way meanwhile): the role they have stays.
    let joined = db::orgs::add_member(&mut *tx, inv.org_id, user.id, inv.role).await?;
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: Some(user.id),
            org_id: Some(inv.org_id),
            action: "invitation.accepted",
            target: &inv.email,
            details: serde_json::json!({
                "role": inv.role.as_str(),
                "already_member": !joined,
            }),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(inv.slug)
}

/// `user` declines invitation `id` addressed to them (from `ip`), lapsed or not.
#[tracing::instrument(skip(state, user, ip), err(level = "debug"))]
pub async fn decline_invitation(
    state: &AppState,
    user: &User,
    id: i64,
    ip: Option<String>,
) -> Result<(), AppError> {
    refuse_staff(user)?;
    let mut tx = state.pool.begin().await?;
    let inv = db::invitations::decline(&mut *tx, id, &user.email)
        .await?
        .ok_or(AppError::NotFound)?;
    db::audit::record(
        &mut *tx,
        db::audit::Entry {
            actor_id: Some(user.id),
            org_id: Some(inv.org_id),
            action: "invitation.declined",
            target: &inv.email,
            details: serde_json::json!({ "role": inv.role.as_str() }),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
