//! Country codes for Business Central: ISO 3166-1 alpha-2 codes (BC's country/region codes
//! in a standard setup) with the names shops type into Lightspeed addresses — English, and
//! the local and neighbouring languages of the markets Lightspeed Retail is sold in (French,
//! Dutch, German, Spanish, Italian, Portuguese). Keys are matched upper-cased and trimmed.
//! Operators extend or override the table in their mapping (`tables.country`).

/// (code, names).
const COUNTRIES: &[(&str, &[&str])] = &[
    ("AD", &["Andorra", "Andorre"]),
    (
        "AE",
        &[
            "United Arab Emirates",
            "UAE",
            "Émirats arabes unis",
            "Verenigde Arabische Emiraten",
            "Vereinigte Arabische Emirate",
        ],
    ),
    ("AF", &["Afghanistan"]),
    ("AG", &["Antigua and Barbuda"]),
    ("AL", &["Albania", "Albanie", "Albanië", "Albanien"]),
    ("AM", &["Armenia", "Arménie"]),
    ("AO", &["Angola"]),
    (
        "AR",
        &["Argentina", "Argentine", "Argentinië", "Argentinien"],
    ),
    (
        "AT",
        &[
            "Austria",
            "Autriche",
            "Oostenrijk",
            "Österreich",
            "Osterreich",
        ],
    ),
    ("AU", &["Australia", "Australie", "Australië", "Australien"]),
    ("AZ", &["Azerbaijan"]),
    ("BA", &["Bosnia and Herzegovina", "Bosnie-Herzégovine"]),
    ("BB", &["Barbados"]),
    ("BD", &["Bangladesh"]),
    (
        "BE",
        &[
            "Belgium", "Belgique", "België", "Belgie", "Belgien", "Bélgica", "Belgio",
        ],
    ),
    ("BG", &["Bulgaria", "Bulgarie", "Bulgarije", "Bulgarien"]),
    ("BH", &["Bahrain"]),
    ("BO", &["Bolivia"]),
    (
        "BR",
        &["Brazil", "Brésil", "Brazilië", "Brasilien", "Brasil"],
    ),
    ("BS", &["Bahamas"]),
    ("BY", &["Belarus", "Biélorussie"]),
    ("BZ", &["Belize"]),
    ("CA", &["Canada", "Kanada"]),
    (
        "CH",
        &[
            "Switzerland",
            "Suisse",
            "Zwitserland",
            "Schweiz",
            "Svizzera",
            "Suiza",
        ],
    ),
    ("CI", &["Côte d'Ivoire", "Ivory Coast"]),
    ("CL", &["Chile", "Chili"]),
    ("CM", &["Cameroon", "Cameroun"]),
    ("CN", &["China", "Chine"]),
    ("CO", &["Colombia", "Colombie"]),
    ("CR", &["Costa Rica"]),
    ("CU", &["Cuba"]),
    ("CY", &["Cyprus", "Chypre", "Zypern", "Cipro"]),
    (
        "CZ",
        &[
            "Czech Republic",
            "Czechia",
            "République tchèque",
            "Tsjechië",
            "Tschechien",
        ],
    ),
    (
        "DE",
        &[
            "Germany",
            "Allemagne",
            "Duitsland",
            "Deutschland",
            "Alemania",
            "Germania",
        ],
    ),
    (
        "DK",
        &["Denmark", "Danemark", "Denemarken", "Dänemark", "Dinamarca"],
    ),
    ("DO", &["Dominican Republic", "République dominicaine"]),
    ("DZ", &["Algeria", "Algérie"]),
    ("EC", &["Ecuador", "Équateur"]),
    ("EE", &["Estonia", "Estonie", "Estland"]),
    ("EG", &["Egypt", "Égypte", "Egypte"]),
    (
        "ES",
        &[
            "Spain", "Espagne", "Spanje", "Spanien", "España", "Espana", "Spagna",
        ],
    ),
    ("FI", &["Finland", "Finlande", "Finnland", "Finlandia"]),
    (
        "FR",
        &["France", "Frankrijk", "Frankreich", "Francia", "França"],
    ),
    (
        "GB",
        &[
            "United Kingdom",
            "UK",
            "Great Britain",
            "England",
            "Scotland",
            "Wales",
            "Northern Ireland",
            "Royaume-Uni",
            "Verenigd Koninkrijk",
            "Vereinigtes Königreich",
            "Reino Unido",
            "Regno Unito",
        ],
    ),
    ("GE", &["Georgia", "Géorgie"]),
    ("GH", &["Ghana"]),
    ("GI", &["Gibraltar"]),
    (
        "GR",
        &["Greece", "Grèce", "Griekenland", "Griechenland", "Grecia"],
    ),
    ("GT", &["Guatemala"]),
    ("HK", &["Hong Kong"]),
    ("HN", &["Honduras"]),
    (
        "HR",
        &["Croatia", "Croatie", "Kroatië", "Kroatien", "Croacia"],
    ),
    (
        "HU",
        &["Hungary", "Hongrie", "Hongarije", "Ungarn", "Hungría"],
    ),
    ("ID", &["Indonesia", "Indonésie"]),
    (
        "IE",
        &["Ireland", "Irlande", "Ierland", "Irland", "Irlanda"],
    ),
    ("IL", &["Israel", "Israël"]),
    ("IN", &["India", "Inde", "Indien"]),
    ("IQ", &["Iraq", "Irak"]),
    ("IR", &["Iran"]),
    ("IS", &["Iceland", "Islande", "IJsland", "Island"]),
    ("IT", &["Italy", "Italie", "Italië", "Italien", "Italia"]),
    ("JM", &["Jamaica", "Jamaïque"]),
    ("JO", &["Jordan", "Jordanie"]),
    ("JP", &["Japan", "Japon"]),
    ("KE", &["Kenya"]),
    ("KR", &["South Korea", "Korea", "Corée du Sud"]),
    ("KW", &["Kuwait", "Koweït"]),
    ("KZ", &["Kazakhstan"]),
    ("LB", &["Lebanon", "Liban"]),
    ("LI", &["Liechtenstein"]),
    ("LK", &["Sri Lanka"]),
    ("LT", &["Lithuania", "Lituanie", "Litouwen", "Litauen"]),
    (
        "LU",
        &["Luxembourg", "Luxemburg", "Luxemburgo", "Lussemburgo"],
    ),
    ("LV", &["Latvia", "Lettonie", "Letland", "Lettland"]),
    ("MA", &["Morocco", "Maroc", "Marokko", "Marruecos"]),
    ("MC", &["Monaco"]),
    ("MD", &["Moldova", "Moldavie"]),
    ("ME", &["Montenegro", "Monténégro"]),
    ("MK", &["North Macedonia", "Macédoine du Nord"]),
    ("MT", &["Malta", "Malte"]),
    ("MU", &["Mauritius", "Maurice"]),
    ("MX", &["Mexico", "Mexique", "Mexiko", "México"]),
    ("MY", &["Malaysia", "Malaisie"]),
    ("NG", &["Nigeria"]),
    ("NI", &["Nicaragua"]),
    (
        "NL",
        &[
            "Netherlands",
            "The Netherlands",
            "Holland",
            "Pays-Bas",
            "Nederland",
            "Niederlande",
            "Países Bajos",
            "Paesi Bassi",
        ],
    ),
    (
        "NO",
        &["Norway", "Norvège", "Noorwegen", "Norwegen", "Noruega"],
    ),
    (
        "NZ",
        &[
            "New Zealand",
            "Nouvelle-Zélande",
            "Nieuw-Zeeland",
            "Neuseeland",
        ],
    ),
    ("OM", &["Oman"]),
    ("PA", &["Panama"]),
    ("PE", &["Peru", "Pérou"]),
    ("PH", &["Philippines"]),
    ("PK", &["Pakistan"]),
    ("PL", &["Poland", "Pologne", "Polen", "Polonia"]),
    ("PR", &["Puerto Rico"]),
    ("PT", &["Portugal", "Portogallo"]),
    ("PY", &["Paraguay"]),
    ("QA", &["Qatar"]),
    (
        "RO",
        &["Romania", "Roumanie", "Roemenië", "Rumänien", "Rumania"],
    ),
    ("RS", &["Serbia", "Serbie", "Servië", "Serbien"]),
    ("RU", &["Russia", "Russie", "Rusland", "Russland"]),
    ("SA", &["Saudi Arabia", "Arabie saoudite"]),
    (
        "SE",
        &["Sweden", "Suède", "Zweden", "Schweden", "Suecia", "Svezia"],
    ),
    ("SG", &["Singapore", "Singapour"]),
    ("SI", &["Slovenia", "Slovénie", "Slovenië", "Slowenien"]),
    ("SK", &["Slovakia", "Slovaquie", "Slowakije", "Slowakei"]),
    ("SM", &["San Marino", "Saint-Marin"]),
    ("SN", &["Senegal", "Sénégal"]),
    ("SV", &["El Salvador"]),
    ("TH", &["Thailand", "Thaïlande"]),
    ("TN", &["Tunisia", "Tunisie", "Tunesië", "Tunesien"]),
    ("TR", &["Turkey", "Türkiye", "Turquie", "Turkije", "Türkei"]),
    ("TT", &["Trinidad and Tobago"]),
    ("TW", &["Taiwan"]),
    ("UA", &["Ukraine", "Oekraïne"]),
    (
        "US",
        &[
            "United States",
            "United States of America",
            "USA",
            "U.S.A.",
            "U.S.",
            "États-Unis",
            "Etats-Unis",
            "Verenigde Staten",
            "Vereinigte Staaten",
            "Estados Unidos",
            "Stati Uniti",
        ],
    ),
    ("UY", &["Uruguay"]),
    ("VA", &["Vatican City", "Holy See", "Vatican"]),
    ("VE", &["Venezuela"]),
    ("VN", &["Vietnam", "Viet Nam"]),
    (
        "ZA",
        &["South Africa", "Afrique du Sud", "Zuid-Afrika", "Südafrika"],
    ),
];

/// The `country` lookup table: every code to itself and every name to its code, keys
/// upper-cased; the empty key maps to the empty code (no country given).
pub fn country_table() -> serde_json::Map<String, serde_json::Value> {
    let mut table = serde_json::Map::new();
    table.insert(String::new(), serde_json::Value::String(String::new()));
    for (code, names) in COUNTRIES {
        table.insert((*code).to_owned(), (*code).into());
        for name in *names {
            table.insert(name.to_uppercase(), (*code).into());
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_in_several_languages_map_to_iso_codes() {
        let t = country_table();
        for (key, code) in [
            ("FR", "FR"),
            ("FRANCE", "FR"),
            ("BELGIË", "BE"),
            ("BELGIQUE", "BE"),
            ("DEUTSCHLAND", "DE"),
            ("ÖSTERREICH", "AT"),
            ("PAYS-BAS", "NL"),
            ("UNITED STATES", "US"),
            ("", ""),
        ] {
            assert_eq!(t.get(key).and_then(|v| v.as_str()), Some(code), "{key}");
        }
        let codes: std::collections::BTreeSet<&str> = COUNTRIES.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes.len(), COUNTRIES.len(), "no code twice");
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()))
        );
    }
}
