//! Rules document: lenient and strict parsing, stable rule ids, applicability.
