//! Customer models: Customer with its Contact (addresses, phones, e-mails, websites), company,
//! customer type and custom fields (api-notes §2.3; fixtures `rseries_customer_*`).

use jiff::Timestamp;
use serde::Deserialize;

use super::catalog::CustomFieldValue;
use super::ids::{CustomerId, CustomerTypeId, RefId};
use crate::json;

/// A postal address (`Contact.Addresses.ContactAddress`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactAddress {
    #[serde(default, deserialize_with = "json::text")]
    pub address1: String,
    #[serde(default, deserialize_with = "json::text")]
    pub address2: String,
    #[serde(default, deserialize_with = "json::text")]
    pub city: String,
    #[serde(default, deserialize_with = "json::text")]
    pub state: String,
    #[serde(default, deserialize_with = "json::text")]
    pub state_code: String,
    #[serde(default, deserialize_with = "json::text")]
    pub zip: String,
    #[serde(default, deserialize_with = "json::text")]
    pub country: String,
    #[serde(default, deserialize_with = "json::text")]
    pub country_code: String,
}

impl ContactAddress {
    /// Whether every field is empty (the API sends one blank address for "none").
    pub fn is_blank(&self) -> bool {
        [
            &self.address1,
            &self.address2,
            &self.city,
            &self.state,
            &self.state_code,
            &self.zip,
            &self.country,
            &self.country_code,
        ]
        .iter()
        .all(|f| f.trim().is_empty())
    }
}

/// A phone number; `use_type` is `Home`, `Work`, `Mobile`, `Pager` or `Fax`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactPhone {
    #[serde(default, deserialize_with = "json::text")]
    pub number: String,
    #[serde(default, deserialize_with = "json::text")]
    pub use_type: String,
}

/// An e-mail address, as typed in the back office (not validated); `use_type` is `Primary`
/// or `Secondary`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactEmail {
    #[serde(default, deserialize_with = "json::text")]
    pub address: String,
    #[serde(default, deserialize_with = "json::text")]
    pub use_type: String,
}

/// A website.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContactWebsite {
    #[serde(default, deserialize_with = "json::text")]
    pub url: String,
}

/// Contact details (`Contact`, only written nested in a Customer).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    #[serde(rename = "Addresses", default, deserialize_with = "json::many")]
    pub addresses: Vec<ContactAddress>,
    #[serde(rename = "Phones", default, deserialize_with = "json::many")]
    pub phones: Vec<ContactPhone>,
    #[serde(rename = "Emails", default, deserialize_with = "json::many")]
    pub emails: Vec<ContactEmail>,
    #[serde(rename = "Websites", default, deserialize_with = "json::many")]
    pub websites: Vec<ContactWebsite>,
    #[serde(default, deserialize_with = "json::flag")]
    pub no_email: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub no_phone: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub no_mail: bool,
    #[serde(default, deserialize_with = "json::text")]
    pub custom: String,
    #[serde(default, deserialize_with = "json::opt_timestamp")]
    pub time_stamp: Option<Timestamp>,
}

impl Contact {
    /// The primary e-mail address, else the first one.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.use_type.eq_ignore_ascii_case("Primary"))
            .or_else(|| self.emails.first())
            .map(|e| e.address.as_str())
            .filter(|a| !a.trim().is_empty())
    }
}

/// A customer type (`CustomerType`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerType {
    #[serde(rename = "customerTypeID")]
    pub customer_type_id: CustomerTypeId,
    #[serde(default, deserialize_with = "json::text")]
    pub name: String,
}

/// A customer (a person, or a company when `company` is set).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    #[serde(rename = "customerID")]
    pub customer_id: CustomerId,
    #[serde(default, deserialize_with = "json::text")]
    pub first_name: String,
    #[serde(default, deserialize_with = "json::text")]
    pub last_name: String,
    #[serde(default, deserialize_with = "json::text")]
    pub title: String,
    #[serde(default, deserialize_with = "json::text")]
    pub company: String,
    #[serde(default, deserialize_with = "json::text")]
    pub company_registration_number: String,
    #[serde(default, deserialize_with = "json::text")]
    pub vat_number: String,
    /// Date of birth; informational, so an impossible date (`2011-02-30`) reads as `None`
    /// rather than sinking the customer (the hostile corpus has one).
    #[serde(default, deserialize_with = "json::lenient_timestamp")]
    pub dob: Option<Timestamp>,
    #[serde(default, deserialize_with = "json::flag")]
    pub archived: bool,
    #[serde(default, deserialize_with = "json::lenient_timestamp")]
    pub create_time: Option<Timestamp>,
    #[serde(deserialize_with = "json::timestamp")]
    pub time_stamp: Timestamp,
    #[serde(rename = "creditAccountID", default, deserialize_with = "json::opt_id")]
    pub credit_account_id: Option<RefId>,
    #[serde(rename = "customerTypeID", default, deserialize_with = "json::opt_id")]
    pub customer_type_id: Option<CustomerTypeId>,
    #[serde(rename = "discountID", default, deserialize_with = "json::opt_id")]
    pub discount_id: Option<RefId>,
    #[serde(rename = "taxCategoryID", default, deserialize_with = "json::opt_id")]
    pub tax_category_id: Option<RefId>,
    #[serde(rename = "Contact", default, deserialize_with = "json::one")]
    pub contact: Option<Contact>,
    #[serde(rename = "CustomerType", default, deserialize_with = "json::one")]
    pub customer_type: Option<CustomerType>,
    #[serde(rename = "CustomFieldValues", default, deserialize_with = "json::many")]
    pub custom_field_values: Vec<CustomFieldValue>,
}

impl Customer {
    /// E-mail addresses, if the Contact relation was loaded.
    pub fn emails(&self) -> &[ContactEmail] {
        self.contact.as_ref().map_or(&[], |c| c.emails.as_slice())
    }

    /// The primary e-mail address, if any.
    pub fn primary_email(&self) -> Option<&str> {
        self.contact.as_ref().and_then(Contact::primary_email)
    }

    /// "First Last", trimmed.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name.trim(), self.last_name.trim())
            .trim()
            .to_owned()
    }

    /// Whether the customer is a company (non-empty `company`).
    pub fn is_company(&self) -> bool {
        !self.company.trim().is_empty()
    }
}
