//! Where an IP address is: `fastly_geo::lookup`, whose JSON answer is read
//! into a `Geo`. Fields the host leaves out are `None`.
use std::net::IpAddr;

use crate::abi::fastly_geo as ffi;
use crate::buffers::{get_optional, text};
use crate::error::Error;
use crate::json::Json;
use crate::request::Request;

/// Geolocation data for an address.
#[derive(Debug, Clone, PartialEq)]
pub struct Geo {
    pub as_name: Option<String>,
    pub as_number: Option<i64>,
    pub area_code: Option<i64>,
    pub city: Option<String>,
    pub conn_speed: Option<String>,
    pub conn_type: Option<String>,
    /// Two letters: `AF`, `AN`, `AS`, `EU`, `NA`, `OC`, `SA`.
    pub continent: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: Option<String>,
    /// ISO 3166-1 alpha-3.
    pub country_code3: Option<String>,
    pub country_name: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub metro_code: Option<i64>,
    pub postal_code: Option<String>,
    pub proxy_description: Option<String>,
    pub proxy_type: Option<String>,
    pub region: Option<String>,
    /// Hours and minutes as a number: `-800` is UTC−08:00, `530` UTC+05:30.
    pub utc_offset: Option<i64>,
    json: Json,
}

impl Geo {
    /// Reads the host's JSON answer.
    pub fn from_json(text: &str) -> Result<Geo, Error> {
        let json = Json::parse(text).map_err(|e| Error::Invalid(format!("geolocation data: {}", e)))?;
        let string = |key: &str| json.get(key).and_then(Json::as_str).map(str::to_string);
        let int = |key: &str| json.get(key).and_then(Json::as_i64);
        let float = |key: &str| json.get(key).and_then(Json::as_f64);
        Ok(Geo {
            as_name: string("as_name"),
            as_number: int("as_number"),
            area_code: int("area_code"),
            city: string("city"),
            conn_speed: string("conn_speed"),
            conn_type: string("conn_type"),
            continent: string("continent"),
            country_code: string("country_code"),
            country_code3: string("country_code3"),
            country_name: string("country_name"),
            latitude: float("latitude"),
            longitude: float("longitude"),
            metro_code: int("metro_code"),
            postal_code: string("postal_code"),
            proxy_description: string("proxy_description"),
            proxy_type: string("proxy_type"),
            region: string("region"),
            utc_offset: int("utc_offset"),
            json,
        })
    }

    /// Any field of the answer, including those not listed above.
    pub fn get(&self, field: &str) -> Option<&Json> {
        self.json.get(field)
    }

    /// The whole answer.
    pub fn json(&self) -> &Json {
        &self.json
    }
}

/// Looks an address up; `None` when the host knows nothing about it.
pub fn geo_lookup(ip: IpAddr) -> Result<Option<Geo>, Error> {
    let octets: Vec<u8> = match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    let answer = get_optional("fastly_geo::lookup", 1024, |buf, len, n| unsafe { ffi::lookup(octets.as_ptr(), octets.len(), buf, len, n) })?;
    match answer {
        None => Ok(None),
        Some(bytes) => Geo::from_json(&text(bytes)).map(Some),
    }
}

impl Request {
    /// Where the client is (on the client request); `None` when unknown.
    pub fn client_geo(&self) -> Option<Geo> {
        geo_lookup(self.client_ip()?).ok().flatten()
    }
}
