/* cartcode._bytescan: byte scans for the X12 reader's counters and the pre-filter.
 *
 * count_two(buf, start, end, a, b) returns (buf.count(a, start, end), buf.count(b, start, end))
 * for single bytes a and b, in one pass and one call: the reader keeps a segment ordinal and a
 * line number for every location, and two bytes.count method calls per claim (each with its
 * method lookup and argument parsing) were a few percent of reading a claim.
 *
 * Built by scripts/build_native.py beside the mypyc modules; cartcode runs without it
 * (readers/x12.py falls back to bytes.count).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *
count_two(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "count_two(buf, start, end, a, b) takes 5 arguments");
        return NULL;
    }
    if (!PyBytes_Check(args[0]) || !PyBytes_Check(args[3]) || !PyBytes_Check(args[4])
        || PyBytes_GET_SIZE(args[3]) != 1 || PyBytes_GET_SIZE(args[4]) != 1) {
        PyErr_SetString(PyExc_TypeError, "count_two: buf must be bytes, a and b single bytes");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    Py_ssize_t end = PyLong_AsSsize_t(args[2]);
    if ((start == -1 || end == -1) && PyErr_Occurred()) {
        return NULL;
    }
    /* slice semantics, as bytes.count(sub, start, end) */
    Py_ssize_t len = PyBytes_GET_SIZE(args[0]);
    if (start < 0) {
        start = start + len < 0 ? 0 : start + len;
    }
    if (end < 0) {
        end = end + len < 0 ? 0 : end + len;
    }
    if (end > len) {
        end = len;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    const unsigned char a = (unsigned char)PyBytes_AS_STRING(args[3])[0];
    const unsigned char b = (unsigned char)PyBytes_AS_STRING(args[4])[0];
    Py_ssize_t na = 0, nb = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        na += p[i] == a;
        nb += p[i] == b;
    }
    return Py_BuildValue("(nn)", na, nb);
}

/* pair_starts(buf, firsts, pairs): the offsets i (ascending) where buf[i] is marked in `firsts`
 * (256 bytes, nonzero = marked) and the pair (buf[i], buf[i+1]) in `pairs` (a bitmap of 65536
 * bits, bit b0 * 256 + b1). The pre-filter's candidate positions in one pass (see
 * prefilter.match_starts). */
static PyObject *
pair_starts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyBytes_Check(args[0]) || !PyBytes_Check(args[1]) || !PyBytes_Check(args[2])
        || PyBytes_GET_SIZE(args[1]) != 256 || PyBytes_GET_SIZE(args[2]) != 8192) {
        PyErr_SetString(PyExc_TypeError,
                        "pair_starts(buf, firsts, pairs): bytes, 256 bytes, a bitmap of 8192 bytes");
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    const unsigned char *firsts = (const unsigned char *)PyBytes_AS_STRING(args[1]);
    const unsigned char *pairs = (const unsigned char *)PyBytes_AS_STRING(args[2]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i + 1 < n; i++) {
        if (!firsts[p[i]]) {
            continue;
        }
        unsigned int pair = ((unsigned int)p[i] << 8) | p[i + 1];
        if (pairs[pair >> 3] & (1u << (pair & 7))) {
            PyObject *at = PyLong_FromSsize_t(i);
            if (at == NULL || PyList_Append(out, at) < 0) {
                Py_XDECREF(at);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(at);
        }
    }
    return out;
}

static PyMethodDef methods[] = {
    {"pair_starts", (PyCFunction)(void (*)(void))pair_starts, METH_FASTCALL,
     "pair_starts(buf, firsts, pairs): offsets where a marked byte pair starts."},
    {"count_two", (PyCFunction)(void (*)(void))count_two, METH_FASTCALL,
     "count_two(buf, start, end, a, b): (buf.count(a, start, end), buf.count(b, start, end))."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "cartcode._bytescan", NULL, -1, methods,
};

PyMODINIT_FUNC
PyInit__bytescan(void)
{
    return PyModule_Create(&module_def);
}
