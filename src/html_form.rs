//! The console's form extractor.

/// Like `web::Form`, but repeated fields (`apis=a&apis=b`) deserialize into a `Vec`, as HTML
/// checkbox lists send them. A body that does not parse is a 400, never a 500.
pub struct HtmlForm<T>(pub T);

impl<T> std::ops::Deref for HtmlForm<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for HtmlForm<T> {
    type Error = crate::error::AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let bytes = actix_web::web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|_| {
                crate::error::AppError::BadRequest("The form could not be read.".into())
            })?;
            serde_html_form::from_bytes::<T>(&bytes)
                .map(HtmlForm)
                .map_err(|_| crate::error::AppError::BadRequest("The form is malformed.".into()))
        })
    }
}
