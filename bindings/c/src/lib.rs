//! C ABI of `recsys-core`.
//!
//! Thin by design: each function checks its pointers, converts C strings to `&str`, calls the
//! core's JSON call/answer API and hands the answer back as an owned C string. Nothing is
//! parsed or decided here.
//!
//! Conventions (also in the generated `include/recsys.h`):
//!
//! * Strings in are NUL-terminated UTF-8 JSON texts; strings out are owned by the caller and
//!   released with [`recsys_string_free`].
//! * Fallible functions take a `RecsysError **err` out-parameter. It may be NULL when the
//!   caller does not want details; otherwise it is set to NULL on success and to a new error
//!   on failure, which the caller releases with [`recsys_error_free`].
//! * Functions returning `int` return [`RECSYS_OK`] (0) or [`RECSYS_ERROR`] (nonzero).
//! * Misuse is reported, never undefined behaviour for the cases we can detect: NULL
//!   pointers give `RECSYS_FFI_NULL_POINTER`, invalid UTF-8 gives `RECSYS_FFI_INVALID_UTF8`.
//!   A pointer that is not NULL must still be valid (a live engine, a NUL-terminated string).
//! * Every entry point runs its body under the core's panic guard
//!   ([`recsys_core::host::guard`]): a panic becomes a `RECSYS_INTERNAL` error and never
//!   unwinds into C. (This needs the default `panic = "unwind"`; a `panic = "abort"` build
//!   would abort the process instead.) The engine holds immutable, atomically swapped
//!   snapshots, so a caught panic cannot leave it half updated and the engine stays usable.
//! * A `RecsysEngine` is thread-safe: one engine may be shared by any number of threads.
//! * Handles are validated. Every engine, error and answer string the library hands out is
//!   registered as live, with its kind, until it is freed; engines and errors also carry a
//!   tag that is poisoned when they are freed. A double free, a free of the wrong kind of
//!   handle (an error passed to `recsys_engine_free`), or a call on a freed engine is
//!   refused with `RECSYS_FFI_INVALID_HANDLE` (the free functions return `RECSYS_ERROR`)
//!   instead of corrupting the heap; nothing is read through a pointer that is not live.

#![deny(unsafe_op_in_unsafe_fn)]

use recsys_core::host::guard;
use recsys_core::ApiError;
use recsys_core::ErrorCode;
use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{OnceLock, RwLock};

/// Returned by functions that succeeded.
pub const RECSYS_OK: c_int = 0;
/// Returned by functions that failed; details are in the `RecsysError` out-parameter.
pub const RECSYS_ERROR: c_int = 1;

/// An engine: the current compiled snapshots plus engine-wide options. Opaque; create with
/// `recsys_engine_new`, release with `recsys_engine_free`. Thread-safe.
pub struct RecsysEngine {
    tag: u64,
    inner: recsys_core::Engine,
}

/// An error: stable code, HTTP status, message and the full error object as JSON. Opaque;
/// release with `recsys_error_free`.
pub struct RecsysError {
    tag: u64,
    code: CString,
    status: u16,
    message: CString,
    json: CString,
}

/// Tags of live handles, and the value a handle's tag takes when it is freed.
const ENGINE_TAG: u64 = 0x5245_4353_454e_4731; // "RECSENG1"
const ERROR_TAG: u64 = 0x5245_4353_4552_5231; // "RECSERR1"
const FREED_TAG: u64 = 0xdead_f4ee_dead_f4ee;

/// The kinds of handle the library hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Engine,
    Error,
    String,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Engine => "engine",
            Kind::Error => "error",
            Kind::String => "string",
        }
    }
}

/// Every live handle, by address. A pointer is used only while it is registered with the
/// expected kind, so a stale or foreign pointer is refused before anything is read
/// through it. (A B-tree: its allocations are referenced from their start, so leak checkers
/// see the registry as reachable, not "possibly lost".)
fn live() -> &'static RwLock<BTreeMap<usize, Kind>> {
    static LIVE: OnceLock<RwLock<BTreeMap<usize, Kind>>> = OnceLock::new();
    LIVE.get_or_init(RwLock::default)
}

fn register<T>(p: *const T, kind: Kind) {
    live()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(p as usize, kind);
}

fn invalid_handle<T>(p: *const T, kind: Kind) -> ApiError {
    ApiError::new(ErrorCode::FfiInvalidHandle,
        format!(
            "{p:p} is not a live {} handle (already freed, never returned by this library, or another kind of handle)",
            kind.name()
        ),
    )
}

/// Checks that `p` is a live handle of `kind`.
fn check<T>(p: *const T, kind: Kind) -> Result<(), ApiError> {
    let ok = live()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(p as usize))
        == Some(&kind);
    if ok {
        Ok(())
    } else {
        Err(invalid_handle(p, kind))
    }
}

/// Removes `p` from the live handles if it is one of `kind` (exactly once: a second free of
/// the same pointer fails here).
fn unregister<T>(p: *const T, kind: Kind) -> Result<(), ApiError> {
    let mut live = live().write().unwrap_or_else(|e| e.into_inner());
    if live.get(&(p as usize)) == Some(&kind) {
        live.remove(&(p as usize));
        Ok(())
    } else {
        Err(invalid_handle(p, kind))
    }
}

/// A live engine handle as a reference, after its registration and tag are checked.
///
/// # Safety
/// `engine` must not be freed concurrently with the returned borrow.
unsafe fn engine_ref<'a>(engine: *const RecsysEngine) -> Result<&'a RecsysEngine, ApiError> {
    if engine.is_null() {
        return Err(null_pointer("engine"));
    }
    check(engine, Kind::Engine)?;
    // SAFETY: registered as a live engine (made by `Box::into_raw`, not freed yet).
    let e = unsafe { &*engine };
    if e.tag != ENGINE_TAG {
        return Err(invalid_handle(engine, Kind::Engine));
    }
    Ok(e)
}

/// A live error handle as a reference; `None` for NULL or anything that is not one.
///
/// # Safety
/// `err` must not be freed concurrently with the returned borrow.
unsafe fn error_ref<'a>(err: *const RecsysError) -> Option<&'a RecsysError> {
    if err.is_null() || check(err, Kind::Error).is_err() {
        return None;
    }
    // SAFETY: registered as a live error (made by `Box::into_raw`, not freed yet).
    let e = unsafe { &*err };
    (e.tag == ERROR_TAG).then_some(e)
}

/// A C string from text that may contain NUL bytes (messages quote user input): NULs become
/// U+FFFD so the text is never truncated silently.
fn c_string_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

impl RecsysError {
    fn new(e: &ApiError) -> RecsysError {
        RecsysError {
            tag: ERROR_TAG,
            code: c_string_lossy(e.code),
            status: e.status,
            message: c_string_lossy(&e.message),
            json: c_string_lossy(&e.to_json()),
        }
    }
}

fn null_pointer(what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::FfiNullPointer,
        format!("{what} must not be a null pointer"),
    )
}

/// Borrows a C string as UTF-8.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid and unchanged for
/// `'a`.
unsafe fn read_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, ApiError> {
    if ptr.is_null() {
        return Err(null_pointer(what));
    }
    // SAFETY: `ptr` is not NULL and, by this function's contract, points to a NUL-terminated
    // string valid for `'a`.
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str().map_err(|e| {
        ApiError::new(
            ErrorCode::FfiInvalidUtf8,
            format!(
                "{what} is not valid utf-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Moves an answer into a caller-owned C string.
fn answer_to_c(answer: String) -> Result<*mut c_char, ApiError> {
    let s = CString::new(answer)
        .map(CString::into_raw)
        .map_err(|_| ApiError::new(ErrorCode::Internal, "the answer contains a nul byte"))?;
    register(s, Kind::String);
    Ok(s)
}

/// Ends an entry point: stores NULL (success) or a new `RecsysError` (failure) in `*err`
/// when `err` is not NULL, and returns the value or `failure`.
///
/// # Safety
/// `err` must be NULL or valid for writing one pointer.
unsafe fn finish<T>(err: *mut *mut RecsysError, result: Result<T, ApiError>, failure: T) -> T {
    let (value, error) = match result {
        Ok(v) => (v, ptr::null_mut()),
        Err(e) => {
            let error = Box::into_raw(Box::new(RecsysError::new(&e)));
            register(error, Kind::Error);
            (failure, error)
        }
    };
    if err.is_null() {
        // The caller asked for no details: release the error right away.
        if !error.is_null() {
            let _ = unregister(error, Kind::Error);
            // SAFETY: `error` was just made by `Box::into_raw` and is not shared.
            drop(unsafe { Box::from_raw(error) });
        }
    } else {
        // SAFETY: `err` is not NULL and, by contract, valid for writes; the caller now owns
        // `error` (if any) and frees it with `recsys_error_free`.
        unsafe { *err = error };
    }
    value
}

/// Shared body of the two call functions: validates `out`, runs `call`, stores the answer.
///
/// # Safety
/// `out` must be NULL or valid for writing one pointer; `op` and `input` must be NULL or valid
/// NUL-terminated strings.
unsafe fn call_into(
    op: *const c_char,
    input: *const c_char,
    out: *mut *mut c_char,
    call: impl FnOnce(&str, &str) -> Result<String, ApiError>,
) -> Result<c_int, ApiError> {
    if out.is_null() {
        return Err(null_pointer("out"));
    }
    // SAFETY: `out` is not NULL and, by contract, valid for writes.
    unsafe { *out = ptr::null_mut() };
    // SAFETY: by contract `op` is NULL or a valid NUL-terminated string for this call.
    let op = unsafe { read_str(op, "op") }?;
    // SAFETY: likewise for `input`.
    let input = unsafe { read_str(input, "input") }?;
    let answer = answer_to_c(call(op, input)?)?;
    // SAFETY: `out` checked above; ownership of the string passes to the caller.
    unsafe { *out = answer };
    Ok(RECSYS_OK)
}

/// Creates an engine. `options_json` is a JSON object of engine options, or NULL for the
/// defaults. Returns NULL on failure (and sets `*err` when `err` is not NULL).
///
/// # Safety
/// `options_json` must be NULL or a valid NUL-terminated string; `err` must be NULL or valid
/// for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn recsys_engine_new(
    options_json: *const c_char,
    err: *mut *mut RecsysError,
) -> *mut RecsysEngine {
    let result = guard(|| {
        let inner = if options_json.is_null() {
            recsys_core::Engine::new()
        } else {
            // SAFETY: not NULL, and a valid NUL-terminated string by this function's contract.
            recsys_core::Engine::with_options_json(unsafe {
                read_str(options_json, "options_json")
            }?)?
        };
        let engine = Box::into_raw(Box::new(RecsysEngine {
            tag: ENGINE_TAG,
            inner,
        }));
        register(engine, Kind::Engine);
        Ok(engine)
    });
    // SAFETY: `err` is NULL or valid for writes by this function's contract.
    unsafe { finish(err, result, ptr::null_mut()) }
}

/// Releases an engine and returns `RECSYS_OK`. NULL is accepted and ignored. A pointer that
/// is not a live engine (freed already, or another kind of handle) is left alone and gives
/// `RECSYS_ERROR`. The engine must not be in use by another thread.
///
/// # Safety
/// `engine` must be NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn recsys_engine_free(engine: *mut RecsysEngine) -> c_int {
    if engine.is_null() {
        return RECSYS_OK;
    }
    if unregister(engine, Kind::Engine).is_err() {
        return RECSYS_ERROR;
    }
    // SAFETY: it was a live engine (made by `Box::into_raw` in `recsys_engine_new`) and has
    // just been unregistered, so this is its only release.
    let mut engine = unsafe { Box::from_raw(engine) };
    engine.tag = FREED_TAG;
    // A panic while dropping must not unwind into C; there is nowhere to report it.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(engine)));
    RECSYS_OK
}

/// Runs operation `op` with the JSON text `input` on `engine` (any operation name the core
/// knows: `load_snapshot`, `recommend`, `validate`, `similar`, and the stateless ones). On
/// success stores the JSON answer in `*out` (free it with `recsys_string_free`) and returns
/// `RECSYS_OK`; on failure sets `*out` to NULL, sets `*err` and returns `RECSYS_ERROR`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `op` and `input` NULL or valid NUL-terminated
/// strings; `out` and `err` NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn recsys_engine_call(
    engine: *const RecsysEngine,
    op: *const c_char,
    input: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut RecsysError,
) -> c_int {
    let result = guard(|| {
        // SAFETY: by contract `engine` is not freed concurrently with this call.
        let engine = match unsafe { engine_ref(engine) } {
            Ok(e) => e,
            Err(e) => {
                if !out.is_null() {
                    // SAFETY: `out` is not NULL and valid for writes by contract.
                    unsafe { *out = ptr::null_mut() };
                }
                return Err(e);
            }
        };
        // SAFETY: `op`, `input` and `out` satisfy `call_into`'s contract by ours.
        unsafe { call_into(op, input, out, |op, input| engine.inner.call(op, input)) }
    });
    // SAFETY: `err` is NULL or valid for writes by this function's contract.
    unsafe { finish(err, result, RECSYS_ERROR) }
}

/// Runs a stateless operation (`etag`, `canonicalize`, `conformance_split`,
/// `conformance_compare`) without an engine. Same conventions as `recsys_engine_call`.
///
/// # Safety
/// `op` and `input` must be NULL or valid NUL-terminated strings; `out` and `err` NULL or
/// valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn recsys_call_static(
    op: *const c_char,
    input: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut RecsysError,
) -> c_int {
    // SAFETY: `op`, `input` and `out` satisfy `call_into`'s contract by this function's.
    let result = guard(|| unsafe { call_into(op, input, out, recsys_core::call_static) });
    // SAFETY: `err` is NULL or valid for writes by this function's contract.
    unsafe { finish(err, result, RECSYS_ERROR) }
}

/// The error's stable code (`RECSYS_UNKNOWN_OPERATION`, `RECSYS_FFI_NULL_POINTER`, ...).
/// Borrowed: valid until `recsys_error_free`. NULL when `err` is NULL.
///
/// # Safety
/// `err` must be NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn recsys_error_code(err: *const RecsysError) -> *const c_char {
    // SAFETY: by contract `err` is not freed concurrently with this call.
    unsafe { error_ref(err) }.map_or(ptr::null(), |e| e.code.as_ptr())
}

/// The HTTP status a host should answer with (400, 404, 409, 422, 500, ...); 0 when `err` is
/// NULL.
///
/// # Safety
/// `err` must be NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn recsys_error_status(err: *const RecsysError) -> c_int {
    // SAFETY: by contract `err` is not freed concurrently with this call.
    unsafe { error_ref(err) }.map_or(0, |e| c_int::from(e.status))
}

/// The error's lower-case message. Borrowed: valid until `recsys_error_free`. NULL when `err`
/// is NULL.
///
/// # Safety
/// `err` must be NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn recsys_error_message(err: *const RecsysError) -> *const c_char {
    // SAFETY: by contract `err` is not freed concurrently with this call.
    unsafe { error_ref(err) }.map_or(ptr::null(), |e| e.message.as_ptr())
}

/// The whole error object as JSON: `{"code","status","message","problems"?,...}`, the form the
/// conformance corpus compares. Borrowed: valid until `recsys_error_free`. NULL when `err` is
/// NULL.
///
/// # Safety
/// `err` must be NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn recsys_error_json(err: *const RecsysError) -> *const c_char {
    // SAFETY: by contract `err` is not freed concurrently with this call.
    unsafe { error_ref(err) }.map_or(ptr::null(), |e| e.json.as_ptr())
}

/// Releases an error and returns `RECSYS_OK`. NULL is accepted and ignored. A pointer that
/// is not a live error (freed already, or another kind of handle) is left alone and gives
/// `RECSYS_ERROR`.
///
/// # Safety
/// `err` must be NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn recsys_error_free(err: *mut RecsysError) -> c_int {
    if err.is_null() {
        return RECSYS_OK;
    }
    if unregister(err, Kind::Error).is_err() {
        return RECSYS_ERROR;
    }
    // SAFETY: it was a live error (made by `Box::into_raw` in `finish`) and has just been
    // unregistered, so this is its only release.
    let mut e = unsafe { Box::from_raw(err) };
    e.tag = FREED_TAG;
    drop(e);
    RECSYS_OK
}

/// Releases a string returned through an `out` parameter and returns `RECSYS_OK`. NULL is
/// accepted and ignored; a pointer that is not a live answer string of this library (freed
/// already, or a borrowed error string) is left alone and gives `RECSYS_ERROR`.
///
/// # Safety
/// `s` must be NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn recsys_string_free(s: *mut c_char) -> c_int {
    if s.is_null() {
        return RECSYS_OK;
    }
    if unregister(s, Kind::String).is_err() {
        return RECSYS_ERROR;
    }
    // SAFETY: it was a live answer (made by `CString::into_raw` in `answer_to_c`) and has
    // just been unregistered, so this is its only release.
    drop(unsafe { CString::from_raw(s) });
    RECSYS_OK
}

/// The library version (`"0.1.0"`), a static string.
#[no_mangle]
pub extern "C" fn recsys_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"",
        };
    VERSION.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_code(err: *mut RecsysError) -> String {
        // SAFETY: `err` is a live error produced by the function under test.
        unsafe { CStr::from_ptr(recsys_error_code(err)) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn etag_round_trip() {
        let mut out = ptr::null_mut();
        let mut err = ptr::null_mut();
        // SAFETY: valid C strings and out-pointers.
        let rc =
            unsafe { recsys_call_static(c"etag".as_ptr(), c"{}".as_ptr(), &mut out, &mut err) };
        assert_eq!(rc, RECSYS_OK);
        assert!(err.is_null());
        // SAFETY: `out` was set by the call.
        let answer = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
        assert!(answer.contains("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"));
        // SAFETY: releasing what the library returned.
        unsafe { recsys_string_free(out) };
    }

    #[test]
    fn null_and_utf8_errors() {
        let mut out = ptr::null_mut();
        let mut err = ptr::null_mut();
        // SAFETY: NULL `op` is the case under test; the rest are valid.
        let rc = unsafe { recsys_call_static(ptr::null(), c"{}".as_ptr(), &mut out, &mut err) };
        assert_eq!(rc, RECSYS_ERROR);
        assert!(out.is_null());
        assert_eq!(error_code(err), ErrorCode::FfiNullPointer.code());
        // SAFETY: releasing what the library returned.
        unsafe { recsys_error_free(err) };
        let bad = [0xffu8, b'{', 0];
        // SAFETY: `bad` is NUL-terminated.
        let rc = unsafe {
            recsys_call_static(c"etag".as_ptr(), bad.as_ptr().cast(), &mut out, &mut err)
        };
        assert_eq!(rc, RECSYS_ERROR);
        assert_eq!(error_code(err), ErrorCode::FfiInvalidUtf8.code());
        // SAFETY: releasing what the library returned.
        unsafe { recsys_error_free(err) };
    }

    #[test]
    fn panics_become_internal_errors() {
        let mut err = ptr::null_mut();
        let result = guard(|| -> Result<c_int, ApiError> { panic!("boom") });
        // SAFETY: `err` is valid for writes.
        let rc = unsafe { finish(&mut err, result, RECSYS_ERROR) };
        assert_eq!(rc, RECSYS_ERROR);
        assert_eq!(error_code(err), ErrorCode::Internal.code());
        // SAFETY: `err` is live.
        let json = unsafe { CStr::from_ptr(recsys_error_json(err)) }
            .to_str()
            .unwrap()
            .to_owned();
        assert!(json.contains("boom"), "{json}");
        // SAFETY: `err` is live.
        assert_eq!(unsafe { recsys_error_status(err) }, 500);
        // SAFETY: releasing what the library returned.
        unsafe { recsys_error_free(err) };
    }

    #[test]
    fn messages_keep_nul_bytes_visible() {
        assert_eq!(c_string_lossy("a\0b").to_str().unwrap(), "a\u{FFFD}b");
    }
}
