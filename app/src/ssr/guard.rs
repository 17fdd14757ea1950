//! `require(org, permission)`: the one access check every org page and server function goes through.

use super::auth::{AuthSession, User};
use super::{db, AppState};
use crate::error::AppError;
use crate::model::{Access, OrgView};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See the org's pages (members, support staff, superadmin).
    Read,
    /// Act as a member of the org (anything but support staff).
    Use,
    /// Change the org: members, roles, configuration (owner, admin, superadmin).
    Manage,
}

/// How the acting person came in: through a page (their own session), or an API key acting as
/// them. Audit entries say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Page,
    ApiKey(i64),
}

/// The caller of every use case of an org: the org, who acts and with what access, how they came
/// in and from which address.
#[derive(Debug, Clone)]
pub struct OrgCtx {
    pub org_id: i64,
    pub slug: String,
    pub name: String,
    /// Where national numbers typed in this org are read (ISO 3166 alpha-2).
    pub country: String,
    pub access: Access,
    pub user: User,
    pub state: AppState,
    pub via: Via,
    /// The client's address (for the audit log).
    pub ip: Option<String>,
}

impl OrgCtx {
    /// Records a change to this org by the acting person, from their address, and the API key
    /// it came through (if it did).
    pub async fn audit(
        &self,
        db: impl sqlx::PgExecutor<'_>,
        action: &str,
        target: &str,
        mut details: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        if let (Via::ApiKey(key), Some(d)) = (self.via, details.as_object_mut()) {
            d.insert("api_key".into(), key.into());
        }
        db::audit::record(
            db,
            db::audit::Entry {
                actor_id: Some(self.user.id),
                org_id: Some(self.org_id),
                action,
                target,
                details,
                ip: self.ip.clone(),
            },
        )
        .await
    }

    /// The same caller, as an API key acting from `ip`.
    pub fn through_key(mut self, key_id: i64, ip: Option<String>) -> Self {
        self.via = Via::ApiKey(key_id);
        self.ip = ip;
        self
    }

    /// Refuses a caller who may not change the org (members, support staff), as the guard does:
    /// every use case that manages the org checks it itself, whatever way it was reached by.
    pub fn must_manage(&self) -> Result<(), AppError> {
        if self.access.read_only() {
            return Err(read_only());
        }
        if !self.access.can_manage() {
            return Err(AppError::Forbidden(
                "Only the org's owners and admins can do that.".into(),
            ));
        }
        Ok(())
    }

    /// Refuses a caller who may only look (support staff), as the guard does.
    pub fn must_act(&self) -> Result<(), AppError> {
        if self.access.read_only() {
            return Err(read_only());
        }
        Ok(())
    }

    /// Whether the caller sees every row of the org (owners, admins, staff), not only their own
    /// and shared ones: the one visibility rule of every list.
    pub fn sees_all(&self) -> bool {
        self.access.oversees()
    }

    /// Whose rows the caller's lists hold: `None` for every member's (those who see all), else
    /// the caller's own (shared rows are added where a list has them).
    pub fn own_rows_only(&self) -> Option<i64> {
        (!self.sees_all()).then_some(self.user.id)
    }

    pub fn view(&self) -> OrgView {
        OrgView {
            slug: self.slug.clone(),
            name: self.name.clone(),
            country: self.country.clone(),
            country_name: crate::model::countries::country_name(&self.country).map(str::to_string),
            access: self.access,
        }
    }
}

fn read_only() -> AppError {
    AppError::Forbidden("Support access is read-only: nothing can be changed here.".into())
}

pub async fn auth_session() -> Result<AuthSession, AppError> {
    leptos_axum::extract::<AuthSession>().await.map_err(|e| {
        tracing::error!(error = %e, "auth session unavailable");
        AppError::Unavailable
    })
}

pub async fn current_user() -> Result<User, AppError> {
    auth_session().await?.user.ok_or(AppError::Unauthenticated)
}

pub async fn require_superadmin() -> Result<(User, AppState), AppError> {
    let user = current_user().await?;
    if !user.is_superadmin {
        // Staff pages do not exist for anyone else.
        return Err(AppError::NotFound);
    }
    Ok((user, AppState::from_context()?))
}

/// The support console's guard: support staff and the superadmin (read-only for support: the
/// functions behind it only read). For anyone else the console does not exist.
pub async fn require_staff() -> Result<(User, AppState), AppError> {
    let user = current_user().await?;
    if !(user.is_support || user.is_superadmin) {
        return Err(AppError::NotFound);
    }
    Ok((user, AppState::from_context()?))
}

/// How `user` may see `org`: a member's role, or staff access; `None` hides the org entirely.
pub fn access_for(user: &User, role: Option<crate::model::Role>) -> Option<Access> {
    if user.is_superadmin {
        Some(Access::Superadmin)
    } else if let Some(r) = role {
        Some(Access::Member(r))
    } else if user.is_support {
        Some(Access::Support)
    } else {
        None
    }
}

/// Checks the signed-in user against `org_slug`. Non-members get 404 (no existence leak);
/// members without the permission, and support staff on any write, get 403.
pub async fn require(org_slug: &str, perm: Permission) -> Result<OrgCtx, AppError> {
    let user = current_user().await?;
    let state = AppState::from_context()?;
    check(state, user, org_slug, perm).await
}

/// `require` for handlers outside Leptos (plain axum routes), given the signed-in user.
pub async fn check(
    state: AppState,
    user: User,
    org_slug: &str,
    perm: Permission,
) -> Result<OrgCtx, AppError> {
    check_from(state, user, org_slug, perm, super::client_ip()).await
}

/// As `check`, for a caller whose address the transport read itself (the plain upload and
/// download routes, outside the pages' context): staff views and the use cases' audit rows carry
/// `ip`.
pub async fn check_from(
    state: AppState,
    user: User,
    org_slug: &str,
    perm: Permission,
    ip: Option<String>,
) -> Result<OrgCtx, AppError> {
    // Slugs are at most 40 characters (`model::parse_slug`): a longer one names no org, and is
    // neither looked up nor remembered.
    if org_slug.len() > 40 {
        return Err(AppError::NotFound);
    }
    let (org, role) = state
        .known
        .access
        .read_found((org_slug.to_string(), user.id), async {
            Ok(match db::orgs::by_slug(&state.pool, org_slug).await? {
                Some(org) => {
                    let role = db::orgs::role_of(&state.pool, org.id, user.id).await?;
                    Some((org, role))
                }
                None => None,
            })
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let access = access_for(&user, role).ok_or(AppError::NotFound)?;
    // Staff looking at an org they are not a member of: every view is on the record.
    if role.is_none() && (user.is_support || user.is_superadmin) {
        let via = leptos::prelude::use_context::<http::request::Parts>()
            .map(|p| p.uri.path().to_string());
        // Through the outage check: staff views are never served without their record.
        let record = db::audit::record_staff_view(
            &state.pool,
            user.id,
            org.id,
            &org.slug,
            serde_json::json!({ "via": via, "permission": format!("{perm:?}") }),
            ip.clone(),
        );
        state.known.outage.read(record).await?;
    }
    let allowed = match perm {
        Permission::Read => true,
        Permission::Use => !access.read_only(),
        Permission::Manage => access.can_manage(),
    };
    if !allowed {
        return Err(if access.read_only() {
            read_only()
        } else {
            AppError::Forbidden("Only the org's owners and admins can do that.".into())
        });
    }
    Ok(OrgCtx {
        org_id: org.id,
        slug: org.slug,
        name: org.name,
        country: org.country,
        access,
        user,
        state,
        via: Via::Page,
        ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn user(support: bool, superadmin: bool) -> User {
        User {
            id: 1,
            email: "x@y.test".into(),
            name: String::new(),
            is_support: support,
            is_superadmin: superadmin,
            password_hash: String::new(),
            must_change_password: false,
        }
    }

    #[test]
    fn access_follows_membership_then_staff_flags() {
        assert_eq!(access_for(&user(false, false), None), None);
        assert_eq!(
            access_for(&user(false, false), Some(Role::Member)),
            Some(Access::Member(Role::Member))
        );
        assert_eq!(access_for(&user(true, false), None), Some(Access::Support));
        // A support person who is also a member acts as that member in their own org.
        assert_eq!(
            access_for(&user(true, false), Some(Role::Admin)),
            Some(Access::Member(Role::Admin))
        );
        assert_eq!(
            access_for(&user(false, true), None),
            Some(Access::Superadmin)
        );
    }
}
