//! The signed-in user, loaded fresh from the database on every request: a disabled user or
//! an ended session is turned away at once. (Roles are checked by the domain operations,
//! and by `ConsoleRequest::require` for pages.)

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::app_state::AppState;
use crate::db::models::user::User;
use crate::error::AppError;
use crate::session::USER_ID_KEY;

pub struct CurrentUser(pub User);

impl std::ops::Deref for CurrentUser {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let user_id = session
                .get::<crate::db::ids::UserId>(USER_ID_KEY)
                .ok()
                .flatten()
                .ok_or(AppError::Unauthorized)?;
            let state =
                state.ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("no app state")))?;
            let mut conn = state.pool.get().await?;
            match User::find_any(&mut conn, user_id).await? {
                Some(user) if !user.disabled => Ok(CurrentUser(user)),
                _ => {
                    session.purge();
                    Err(AppError::Unauthorized)
                }
            }
        })
    }
}
