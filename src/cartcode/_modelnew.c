/* cartcode._modelnew: a pydantic model instance from values that are already valid.
 *
 * new_model(cls, values, fields_set) does what readers/fastbuild.py's Python fallback does:
 *
 *     obj = object.__new__(cls)
 *     object.__setattr__(obj, "__dict__", values)
 *     object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
 *     object.__setattr__(obj, "__pydantic_extra__", None)
 *     object.__setattr__(obj, "__pydantic_private__", None)
 *
 * with the same C calls object.__new__ and object.__setattr__ end in (tp_alloc, and
 * PyObject_GenericSetAttr, which bypasses BaseModel.__setattr__ as object.__setattr__ does),
 * minus the argument tuples and wrapper objects of five Python-level calls: a full claim builds
 * about twenty of these objects, and those calls were a fifth of reading it.
 *
 * Built by scripts/build_native.py beside the mypyc modules; cartcode runs without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *s_dict, *s_fields_set, *s_extra, *s_private;

static PyObject *
new_model(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "new_model(cls, values, fields_set) takes 3 arguments");
        return NULL;
    }
    PyObject *cls = args[0];
    if (!PyType_Check(cls) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "new_model: cls must be a type and values a dict");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    if (type->tp_new != PyBaseObject_Type.tp_new) {
        PyErr_SetString(PyExc_TypeError, "new_model: cls must use object.__new__");
        return NULL;
    }
    PyObject *obj = type->tp_alloc(type, 0);
    if (obj == NULL) {
        return NULL;
    }
    if (PyObject_GenericSetAttr(obj, s_dict, args[1]) < 0
        || PyObject_GenericSetAttr(obj, s_fields_set, args[2]) < 0
        || PyObject_GenericSetAttr(obj, s_extra, Py_None) < 0
        || PyObject_GenericSetAttr(obj, s_private, Py_None) < 0) {
        Py_DECREF(obj);
        return NULL;
    }
    return obj;
}

static PyMethodDef methods[] = {
    {"new_model", (PyCFunction)(void (*)(void))new_model, METH_FASTCALL,
     "new_model(cls, values, fields_set): a model instance with this __dict__ and fields set."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "cartcode._modelnew", NULL, -1, methods,
};

PyMODINIT_FUNC
PyInit__modelnew(void)
{
    s_dict = PyUnicode_InternFromString("__dict__");
    s_fields_set = PyUnicode_InternFromString("__pydantic_fields_set__");
    s_extra = PyUnicode_InternFromString("__pydantic_extra__");
    s_private = PyUnicode_InternFromString("__pydantic_private__");
    if (!s_dict || !s_fields_set || !s_extra || !s_private) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
