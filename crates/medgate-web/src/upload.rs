//! `multipart/form-data` forms: the staff pages' file uploads (certificates and keystores).
//! The text fields become a [`Form`] so that the CSRF check is the same as for every other
//! form; the files are kept in memory, each capped at [`MAX_FILE_BYTES`].

use std::collections::HashMap;

use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};

use crate::request::{Form, MAX_FORM_BYTES};
use crate::error::ApiError;

/// Largest file accepted in an upload (a certificate or a PKCS#12 keystore is a few KB).
pub const MAX_FILE_BYTES: usize = 64 * 1024;
/// Largest whole upload body; the route's body limit.
pub const MAX_UPLOAD_BYTES: usize = 4 * MAX_FILE_BYTES + MAX_FORM_BYTES;

/// One uploaded file. A file input left empty is not kept.
pub struct UploadedFile {
    /// The file's name as the browser sent it (for messages only).
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A parsed `multipart/form-data` body.
pub struct Upload {
    pub form: Form,
    files: HashMap<String, UploadedFile>,
}

impl Upload {
    /// Reads every part of the body: parts with a file name are files, the others text
    /// fields. A field sent twice keeps its first value.
    pub async fn read(multipart: Result<Multipart, MultipartRejection>) -> Result<Upload, ApiError> {
        let mut multipart = multipart.map_err(|e| {
            ApiError::bad_request("bad_form", format!("The form is not a file upload: {e}."))
        })?;
        let mut fields = HashMap::new();
        let mut files = HashMap::new();
        let mut text_bytes = 0usize;
        while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let mut bytes = Vec::new();
            let limit = if file_name.is_some() {
                MAX_FILE_BYTES
            } else {
                MAX_FORM_BYTES
            };
            while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > limit {
                    return Err(too_large(&name, limit));
                }
            }
            match file_name {
                Some(file_name) => {
                    if !bytes.is_empty() {
                        files
                            .entry(name)
                            .or_insert(UploadedFile { file_name, bytes });
                    }
                }
                None => {
                    text_bytes += bytes.len();
                    if text_bytes > MAX_FORM_BYTES {
                        return Err(too_large("text fields", MAX_FORM_BYTES));
                    }
                    let text = String::from_utf8(bytes).map_err(|_| {
                        ApiError::bad_request("bad_form", format!("Field {name} is not UTF-8."))
                    })?;
                    fields.entry(name).or_insert(text);
                }
            }
        }
        Ok(Upload {
            form: Form::from_fields(fields),
            files,
        })
    }

    /// The file uploaded in input `name`, if one was chosen.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files.get(name)
    }
}

fn unreadable(error: MultipartError) -> ApiError {
    ApiError::new(
        error.status(),
        "bad_form",
        format!("The upload could not be read: {}.", error.body_text()),
    )
}

fn too_large(what: &str, limit: usize) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "form_too_large",
        format!("{what}: at most {} KB may be uploaded.", limit / 1024),
    )
}
