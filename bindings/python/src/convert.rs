//! Python objects ⇄ core JSON values, without a JSON text in between.
//!
//! The dict conveniences (`Engine.recommend(dict, dict)`, ...) used to cost a `json.dumps`
//! and a `json.loads` per call, more than the decision itself for small requests. These
//! conversions give exactly what those two would: Python `float`s become the literal
//! `float.__repr__` writes (what `json.dumps` writes), answer numbers become `int` when the
//! literal has no fraction or exponent and `float` otherwise (what `json.loads` does), and
//! duplicate object keys keep the last value at the first key's position.
//!
//! Anything `json.dumps` would have handled differently (non-`str` keys, tuples, subclasses
//! with their own encoding, NaN) is refused with `TypeError`/`ValueError`; the Python layer
//! then falls back to the JSON text path, so behaviour never depends on which path ran.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};
use pyo3::PyTypeInfo;
use recsys_core::json::{Map, Number, Value};

/// Depth cap, as the core's parser applies to JSON text.
const MAX_DEPTH: usize = 64;

/// Converts a Python value (dict, list, str, int, float, bool, None; exact types only) to
/// a core value.
pub fn to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    value_at(obj, 0, Mode::Exact)
}

/// Converts what a host store returned to a core value, for the core's record decoder
/// (`recsys_core::host::records`). More lenient than [`to_value`], as a store may answer
/// with database rows: subclasses of `dict`, `str`, `int` count as their base types, and any
/// iterable other than `str`, `bytes` and `dict` is an array.
pub fn answer_to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    value_at(obj, 0, Mode::Loose)
}

/// Which Python values convert: exactly what `json.dumps` would encode the same way, or
/// (for store answers) their subclasses and any iterable too.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exact,
    Loose,
}

/// `obj` as a `T`: exactly a `T`, or (loose) a `T` or a subclass.
fn cast_as<'a, 'py, T: PyTypeInfo>(
    obj: &'a Bound<'py, PyAny>,
    mode: Mode,
) -> Option<&'a Bound<'py, T>> {
    match mode {
        Mode::Exact => obj.cast_exact::<T>().ok(),
        Mode::Loose => obj.cast::<T>().ok(),
    }
}

fn value_at(obj: &Bound<'_, PyAny>, depth: usize, mode: Mode) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err("value nested too deeply"));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Some(b) = cast_as::<PyBool>(obj, mode) {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Some(s) = cast_as::<PyString>(obj, mode) {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Some(i) = cast_as::<PyInt>(obj, mode) {
        return Ok(match i.extract::<i64>() {
            Ok(x) => Value::i64(x),
            Err(_) => number(&i.str()?.to_string())?,
        });
    }
    if let Ok(f) = obj.cast_exact::<PyFloat>() {
        let x = f.value();
        if !x.is_finite() {
            return Err(PyValueError::new_err(format!(
                "out of range float values are not json compliant: {x}"
            )));
        }
        return number(&f.repr()?.to_string());
    }
    if let Some(d) = cast_as::<PyDict>(obj, mode) {
        let mut m = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let Some(k) = cast_as::<PyString>(&k, mode) else {
                return Err(PyTypeError::new_err("dict keys must be str"));
            };
            m.push(k.to_cow()?.into_owned(), value_at(&v, depth + 1, mode)?);
        }
        return Ok(Value::Object(m));
    }
    if let Ok(l) = obj.cast_exact::<PyList>() {
        let mut a = Vec::with_capacity(l.len());
        for v in l.iter() {
            a.push(value_at(&v, depth + 1, mode)?);
        }
        return Ok(Value::Array(a));
    }
    if mode == Mode::Loose && obj.cast::<PyBytes>().is_err() {
        if let Ok(items) = obj.try_iter() {
            let mut a = Vec::new();
            for v in items {
                a.push(value_at(&v?, depth + 1, mode)?);
            }
            return Ok(Value::Array(a));
        }
    }
    Err(PyTypeError::new_err(format!(
        "object of type {} is not converted natively",
        obj.get_type().name()?
    )))
}

/// A number from a literal Python wrote (`repr` of a float, `str` of an int): parsed by the
/// core's JSON parser, so the literal is validated exactly as in JSON text.
fn number(lit: &str) -> PyResult<Value> {
    match recsys_core::json::parse(lit.as_bytes()) {
        Ok(v @ Value::Number(_)) => Ok(v),
        _ => Err(PyValueError::new_err(format!(
            "number {lit:?} is not a json number"
        ))),
    }
}

/// Converts a core value to Python objects, as `json.loads` of its text would.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Number(n) => number_to_py(py, n)?,
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m.iter() {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn number_to_py<'py>(py: Python<'py>, n: &Number) -> PyResult<Bound<'py, PyAny>> {
    let lit = n.literal();
    if n.is_integer_literal() {
        if let Ok(i) = lit.parse::<i64>() {
            return Ok(i.into_pyobject(py)?.into_any());
        }
        // Beyond 64 bits: Python's own int() of the literal, as json.loads does.
        return py.get_type::<PyInt>().call1((lit,)).map(|x| x.into_any());
    }
    // Correctly rounded like float(literal); overflow gives ±inf like json.loads.
    let f: f64 = lit.parse().unwrap_or(f64::NAN);
    Ok(PyFloat::new(py, f).into_any())
}
