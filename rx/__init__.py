"""E-prescriptions under India's Telemedicine Practice Guidelines 2020: rules, signing, PDF, FHIR."""
