/* cartcode._bytescan: counting bytes for the X12 reader's segment and line counters.
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

static PyMethodDef methods[] = {
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
