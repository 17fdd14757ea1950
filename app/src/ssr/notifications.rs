//! Notifications: the use cases of the notifications page, the nav's bell and
//! `/v1/notifications`. Each reads or marks only the viewer's own notifications in the org;
//! marking them read is theirs to do (support staff, who only look, do not).

use super::db::{self, notifications::NotificationRow};
use super::guard::OrgCtx;
use super::{format, AppState};
use crate::error::AppError;
use crate::model::alerts::{Bell, NotificationView, NotificationsPage, BELL_CAP, MAX_LISTED};

/// The notifications page: the viewer's newest notifications here and how many are unread.
pub async fn page(ctx: &OrgCtx) -> Result<NotificationsPage, AppError> {
    let notifications = list(ctx).await?;
    let unread = db::notifications::unread_count(&ctx.state.pool, ctx.user.id, ctx.org_id).await?;
    Ok(NotificationsPage {
        org: ctx.view(),
        notifications,
        unread,
    })
}

/// The viewer's newest notifications in the org, newest first.
pub async fn list(ctx: &OrgCtx) -> Result<Vec<NotificationView>, AppError> {
    let rows =
        db::notifications::list(&ctx.state.pool, ctx.user.id, ctx.org_id, MAX_LISTED).await?;
    Ok(rows.into_iter().map(view).collect())
}

/// Marks every unread notification of the viewer here read, on the record when there were any;
/// how many there were.
pub async fn mark_all_read(ctx: &OrgCtx) -> Result<u64, AppError> {
    ctx.must_act()?;
    let now = ctx.state.clock.now();
    let mut tx = ctx.state.pool.begin().await?;
    let n = db::notifications::mark_all_read(&mut *tx, ctx.user.id, ctx.org_id, now).await?;
    if n > 0 {
        let details = serde_json::json!({ "count": n });
        ctx.audit(&mut *tx, "notifications.read", "all", details)
            .await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// Marks one of the viewer's notifications here read (on the record when it was unread);
/// anyone else's, or none, is not found.
pub async fn mark_read(ctx: &OrgCtx, id: i64) -> Result<(), AppError> {
    ctx.must_act()?;
    let now = ctx.state.clock.now();
    let mut tx = ctx.state.pool.begin().await?;
    if db::notifications::mark_read(&mut *tx, ctx.user.id, ctx.org_id, id, now).await? {
        let details = serde_json::json!({ "notification": id });
        ctx.audit(&mut *tx, "notification.read", &id.to_string(), details)
            .await?;
    } else if !db::notifications::exists(&mut *tx, ctx.user.id, ctx.org_id, id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// The nav's bell for `user_id` in the org `slug` (one of theirs: the caller checked). Never
/// an error: while the database cannot be reached the nav is served without it.
pub async fn bell(state: &AppState, user_id: i64, slug: &str) -> Option<Bell> {
    let count = db::notifications::unread_in_org(&state.pool, user_id, slug, BELL_CAP);
    match state.known.outage.read(count).await {
        Ok(unread) => Some(Bell {
            org: slug.to_string(),
            unread,
        }),
        Err(e) => {
            tracing::debug!(error = %e, "the bell's count is unavailable");
            None
        }
    }
}

/// A notification as the page and `/v1` show it. Only a path of this site is a link (the table
/// allows nothing else; `//host` is refused here too).
fn view(r: NotificationRow) -> NotificationView {
    let link =
        Some(r.link).filter(|l| l.starts_with('/') && !l.starts_with("//") && !l.contains('\\'));
    NotificationView {
        id: r.id,
        title: r.title,
        body: r.body,
        link,
        created: format::utc_minute(r.created_at),
        created_iso: format::rfc3339(r.created_at),
        unread: r.read_at.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(link: &str) -> NotificationRow {
        NotificationRow {
            id: 1,
            title: "t".into(),
            body: "b".into(),
            link: link.into(),
            created_at: time::macros::datetime!(2026-12-06 14:05:09 UTC),
            read_at: None,
        }
    }

    #[test]
    fn only_paths_of_this_site_are_links() {
        assert_eq!(
            view(row("/o/acme/admin/budgets")).link.as_deref(),
            Some("/o/acme/admin/budgets")
        );
        for bad in ["", "//evil.test/x", "/\\evil.test", "https://evil.test"] {
            assert_eq!(view(row(bad)).link, None, "{bad}");
        }
        let v = view(row(""));
        assert!(v.unread);
        assert_eq!(v.created_iso, "2026-12-06T14:05:09Z");
    }
}
