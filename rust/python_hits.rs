//! A scan's hits on their way to Python: kept as the core returns them
//! until Python first asks for them, then made into the `results.hit_type`
//! named tuples in one pass.
//!
//! Making a hit's Python objects (up to six `str`, one or two `datetime`,
//! the tuple) takes about a microsecond under the GIL, on one thread
//! whatever the scan's threads: with tens of thousands of distinct hits
//! that was a fifth of a one-thread scan and capped what a second thread
//! could gain. `scan()` now returns as soon as the core is done; whoever
//! reads the hits pays for them once (`ScanResult` keeps what was built).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyModule, PyString, PyTuple, PyType};

use crate::aggregate::Hit;
use crate::detection::STATS_COLUMNS;
use crate::time::{civil_from_micros, TIME_RANGE};

/// The hits of one scan, sorted, with the by-fields that name their
/// values. `ScanResult` calls `build()` once, on first access to its hits.
#[pyclass(module = "sysmon_hunt._native", name = "PendingHits", frozen)]
pub(super) struct PendingHits {
    hits: Vec<Hit>,
    by_fields: Vec<String>,
}

impl PendingHits {
    pub(super) fn new(hits: Vec<Hit>, by_fields: Vec<String>) -> Self {
        PendingHits { hits, by_fields }
    }
}

#[pymethods]
impl PendingHits {
    fn __len__(&self) -> usize {
        self.hits.len()
    }

    /// build() -> tuple of hits: the `results.hit_type(by_fields)` named
    /// tuples, times as UTC datetimes.
    fn build<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let results = py.import("sysmon_hunt.results")?;
        let hit_class = results.getattr("hit_type")?.call1((PyTuple::new(py, &self.by_fields)?,))?;
        let hit_class = TupleClass::new(hit_class, self.by_fields.len() + STATS_COLUMNS.len())?;
        let datetimes = Datetimes::new(py)?;

        let _paused = GcPaused::new(py)?;
        let mut hits = Vec::with_capacity(self.hits.len());
        // Hits come sorted by their by-field values, so a host, an image or a
        // process id usually repeats the previous hit's: such a value shares
        // the previous hit's `str` instead of making a new one.
        let mut previous: Vec<(&str, Bound<'py, PyAny>)> = Vec::with_capacity(self.by_fields.len());
        let mut row: Vec<Bound<'py, PyAny>> = Vec::with_capacity(self.by_fields.len() + 3);
        for hit in &self.hits {
            for (column, value) in hit.values().enumerate() {
                match previous.get_mut(column) {
                    Some((text, object)) if *text == value => row.push(object.clone()),
                    slot => {
                        let object = PyString::new(py, value).into_any();
                        row.push(object.clone());
                        match slot {
                            Some(entry) => *entry = (value, object),
                            None => previous.push((value, object)),
                        }
                    }
                }
            }
            row.push(hit.stats.count.into_pyobject(py)?.into_any());
            let first = datetimes.make(hit.stats.first)?;
            // One object when the group's first and last times are the same
            // (every group of one event): datetimes are immutable.
            let last =
                if hit.stats.last == hit.stats.first { first.clone() } else { datetimes.make(hit.stats.last)? };
            row.push(first);
            row.push(last);
            hits.push(hit_class.make(&mut row)?);
        }
        PyTuple::new(py, hits)
    }
}

/// Makes instances of a named-tuple class the way `tuple.__new__(class,
/// values)` does: the class's `tp_alloc` for that many items, then each
/// item set. Without the values tuple, the arguments tuple and the call
/// that `tuple.__new__` takes per hit (a fifth of the instructions per
/// hit, measured).
struct TupleClass<'py> {
    class: Bound<'py, PyType>,
    alloc: ffi::allocfunc,
    /// How many fields the class has.
    width: usize,
}

impl<'py> TupleClass<'py> {
    fn new(class: Bound<'py, PyAny>, width: usize) -> PyResult<Self> {
        let py = class.py();
        let class = class.cast_into::<PyType>()?;
        if !class.is_subclass_of::<PyTuple>()? {
            return Err(PyTypeError::new_err("hit_type() must give a tuple class"));
        }
        // SAFETY: `class` is a type object. A class made by `namedtuple` is
        // a heap type, whose slots PyType_GetSlot reads on every version.
        let slot = unsafe { ffi::PyType_GetSlot(class.as_type_ptr(), ffi::Py_tp_alloc) };
        if slot.is_null() {
            return Err(PyErr::take(py).unwrap_or_else(|| PyTypeError::new_err("a tuple class without tp_alloc")));
        }
        // SAFETY: the Py_tp_alloc slot holds an `allocfunc`.
        let alloc = unsafe { std::mem::transmute::<*mut std::ffi::c_void, ffi::allocfunc>(slot) };
        Ok(TupleClass { class, alloc, width })
    }

    /// An instance holding `items` (which it takes, leaving the vector
    /// empty); one item per field, or an error.
    fn make(&self, items: &mut Vec<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let py = self.class.py();
        if items.len() != self.width {
            let found = items.len();
            items.clear();
            return Err(PyValueError::new_err(format!("a hit of {found} values for {} columns", self.width)));
        }
        let len = items.len() as ffi::Py_ssize_t;
        // SAFETY: the `tp_alloc` of a tuple class returns a new instance of
        // `len` empty (NULL) items, or NULL with an exception set.
        let instance = unsafe { Bound::from_owned_ptr_or_err(py, (self.alloc)(self.class.as_type_ptr(), len))? };
        for (index, item) in items.drain(..).enumerate() {
            // SAFETY: `instance` is a tuple nothing else has seen (one
            // reference), `index` is below its length, and PyTuple_SetItem
            // takes over the item's reference. A NULL item left by an error
            // here is one a tuple's deallocation skips.
            if unsafe { ffi::PyTuple_SetItem(instance.as_ptr(), index as ffi::Py_ssize_t, item.into_ptr()) } != 0 {
                return Err(PyErr::fetch(py));
            }
        }
        Ok(instance)
    }
}

/// Makes UTC `datetime`s from microseconds since the epoch.
struct Datetimes<'py> {
    class: Bound<'py, PyAny>,
    utc: Bound<'py, PyAny>,
}

impl<'py> Datetimes<'py> {
    fn new(py: Python<'py>) -> PyResult<Self> {
        let module = py.import("datetime")?;
        Ok(Datetimes { class: module.getattr("datetime")?, utc: module.getattr("timezone")?.getattr("utc")? })
    }

    fn make(&self, micros: i64) -> PyResult<Bound<'py, PyAny>> {
        // The form `datetime` unpickles from: one bytes argument instead of
        // seven integers (about half the cost, measured).
        let state = pickled_state(micros)
            .ok_or_else(|| PyValueError::new_err(format!("time {micros} us after the epoch is out of range")))?;
        self.class.call1((PyBytes::new(self.class.py(), &state), &self.utc))
    }
}

/// The 10 bytes a `datetime` pickles its value as (CPython's and PyPy's
/// pickle format, which must stay loadable): year (2 bytes, big-endian),
/// month, day, hour, minute, second, microseconds (3 bytes, big-endian).
/// `datetime` does not check this form's fields, so times outside its
/// range (years 1-9999, as scans give; a partial from elsewhere is checked
/// for it) get `None`.
fn pickled_state(micros: i64) -> Option<[u8; 10]> {
    if !TIME_RANGE.contains(&micros) {
        return None;
    }
    let t = civil_from_micros(micros);
    let [year_high, year_low] = (t.year as u16).to_be_bytes();
    let [_, micros_high, micros_mid, micros_low] = t.micros.to_be_bytes();
    Some([year_high, year_low, t.month, t.day, t.hour, t.minute, t.second, micros_high, micros_mid, micros_low])
}

/// Keeps CPython's cyclic garbage collector out of the way while a large
/// result is built: every hit is a new tuple, and with the collector on,
/// building 100k of them triggers collections that walk all the earlier
/// ones (most of the time of a many-hits scan). Nothing built here can form
/// a cycle. The collector is switched back on when this is dropped, also on
/// an error, if it was on before.
struct GcPaused<'py> {
    gc: Bound<'py, PyModule>,
    was_enabled: bool,
}

impl<'py> GcPaused<'py> {
    fn new(py: Python<'py>) -> PyResult<Self> {
        let gc = py.import("gc")?;
        let was_enabled = gc.call_method0("isenabled")?.is_truthy()?;
        if was_enabled {
            gc.call_method0("disable")?;
        }
        Ok(GcPaused { gc, was_enabled })
    }
}

impl Drop for GcPaused<'_> {
    fn drop(&mut self) {
        if self.was_enabled {
            let _ = self.gc.call_method0("enable");
        }
    }
}
