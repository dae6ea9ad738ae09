//! Pictures of items and customers: the picture entity (present even when empty), its
//! content, uploads, and the content type and size BC reads from the bytes.

use jiff::Timestamp;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ChangeKind, PictureData, Store, check_if_match, etag_of};
use crate::business_central::errors::{BcFault, Outcome};
use crate::business_central::schema::Entity;

impl Store {
    /// A picture entity (`items({id})/picture`), present even when empty (InsertAllowed =
    /// false, api-notes §2 "picture").
    pub(crate) fn picture(
        &self,
        company: Uuid,
        parent: Entity,
        parent_id: Uuid,
        base: &str,
    ) -> Option<Value> {
        let data = self.company(company)?;
        let parent_row = data.row(parent, parent_id)?;
        let picture = data.pictures.get(&parent_id);
        let link = format!(
            "{base}/companies({company})/{}({parent_id})/picture/pictureContent",
            parent.set_name()
        );
        Some(json!({
            "@odata.etag": etag_of(picture.map_or(parent_row.version, |p| p.version)),
            "id": parent_id.to_string(),
            "parentType": match parent { Entity::Customer => "Customer", _ => "Item" },
            "width": picture.map_or(0, |p| p.width),
            "height": picture.map_or(0, |p| p.height),
            "contentType": picture.map_or("", |p| p.content_type.as_str()),
            "pictureContent@odata.mediaEditLink": link,
            "pictureContent@odata.mediaReadLink": link,
        }))
    }

    pub(crate) fn picture_content(
        &self,
        company: Uuid,
        parent_id: Uuid,
    ) -> Option<(Vec<u8>, String)> {
        let picture = self.company(company)?.pictures.get(&parent_id)?;
        Some((picture.content.clone(), picture.content_type.clone()))
    }

    /// Uploads a picture (PATCH …/picture/pictureContent).
    pub(crate) fn set_picture(
        &mut self,
        company: Uuid,
        parent: Entity,
        parent_id: Uuid,
        if_match: Option<&str>,
        content: Vec<u8>,
        now: Timestamp,
    ) -> Outcome<()> {
        let (version, _) = self.bump();
        let data = self.company_mut(company)?;
        let row = data
            .row(parent, parent_id)
            .ok_or_else(|| BcFault::record_not_found(parent.set_name(), &parent_id.to_string()))?;
        let current = data
            .pictures
            .get(&parent_id)
            .map_or(row.version, |p| p.version);
        check_if_match(if_match, current)?;
        let (content_type, width, height) = sniff_image(&content);
        data.pictures.insert(
            parent_id,
            PictureData {
                content,
                content_type,
                width,
                height,
                version,
            },
        );
        self.record_change(company, parent, parent_id, ChangeKind::Updated, now);
        Ok(())
    }
}

/// Content type and size of PNG, JPEG or GIF bytes (zeros otherwise).
pub(super) fn sniff_image(bytes: &[u8]) -> (String, u32, u32) {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    if bytes.len() >= 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return (
            "image/png".into(),
            be32(&bytes[16..20]),
            be32(&bytes[20..24]),
        );
    }
    if bytes.len() >= 10 && bytes.starts_with(b"GIF8") {
        let w = u32::from(u16::from_le_bytes([bytes[6], bytes[7]]));
        let h = u32::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        return ("image/gif".into(), w, h);
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut i = 2;
        while i + 9 < bytes.len() {
            if bytes[i] != 0xFF {
                break;
            }
            let marker = bytes[i + 1];
            let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
            if (0xC0..=0xC3).contains(&marker) {
                let h = u32::from(u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]));
                let w = u32::from(u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]));
                return ("image/jpeg".into(), w, h);
            }
            i += 2 + len;
        }
        return ("image/jpeg".into(), 0, 0);
    }
    ("application/octet-stream".into(), 0, 0)
}
