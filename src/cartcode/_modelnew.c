/* cartcode._modelnew: pydantic model instances from values that are already valid.
 *
 * new_model(cls, values, fields_set) does what readers/fastbuild.py's Python fallback does:
 *
 *     obj = object.__new__(cls)
 *     object.__setattr__(obj, "__dict__", values)
 *     object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
 *     object.__setattr__(obj, "__pydantic_extra__", None)
 *     object.__setattr__(obj, "__pydantic_private__", None)
 *
 * object.__setattr__ ends in PyObject_GenericSetAttr, which finds each name's descriptor on the
 * type and calls it: for "__dict__" the getset descriptor whose setter is PyObject_GenericSetDict
 * (pydantic models have no built-in base with a dict of its own), for the three pydantic names
 * the member descriptors of BaseModel's __slots__, which store into a fixed offset. Here the
 * descriptors are looked up once per class (with the same _PyType_Lookup) and used directly:
 * a full claim builds about thirty of these objects, and the lookups were most of their cost.
 *
 * new_location(cls, fields_set, file, segment, line, loop, segment_id, element, offset) is
 * what new_model(cls, {"file": file, "path": None, "segment": segment, ...}, fields_set) makes,
 * with the fields stored as ordinary instance attributes instead of a dict of their own: an X12
 * Location, the readers' most frequent object (see the comment in new_location).
 *
 * plain_getattr(cls) makes attribute reads on instances of `cls` skip the class's __getattr__:
 * see fastbuild._plain_attribute_reads for when that changes nothing but the cost.
 *
 * Built by scripts/build_native.py beside the mypyc modules; cartcode runs without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

static PyObject *s_dict, *s_fields_set, *s_extra, *s_private;
static PyObject *s_file, *s_path, *s_segment, *s_line, *s_loop, *s_segment_id, *s_element, *s_offset;

/* Per class: where its three pydantic slots live (offsets from the member descriptors). */
#define CACHE_SIZE 64
typedef struct {
    PyTypeObject *type; /* a strong reference, so the address is never reused for another class */
    Py_ssize_t fields_set, extra, private_;
} SlotOffsets;
static SlotOffsets cache[CACHE_SIZE];
static int cached = 0;

/* The offset of the writable object slot `name` on `type`, or -1 when the name is not one. */
static Py_ssize_t
slot_offset(PyTypeObject *type, PyObject *name)
{
    PyObject *descr = _PyType_Lookup(type, name); /* borrowed; what GenericSetAttr finds */
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        return -1;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
    if (member->type != T_OBJECT_EX || (member->flags & READONLY)
        || !PyType_IsSubtype(type, PyDescr_TYPE(descr))) {
        return -1;
    }
    return member->offset;
}

/* The class's slot offsets, looked up on first use; NULL when they cannot be used directly
   (then build() goes through PyObject_GenericSetAttr). */
static SlotOffsets *
offsets_of(PyTypeObject *type)
{
    for (int i = 0; i < cached; i++) {
        if (cache[i].type == type) {
            return &cache[i];
        }
    }
    if (cached == CACHE_SIZE) {
        return NULL;
    }
    /* "__dict__" must resolve to a getset descriptor (the one of the class declaring __dict__,
       whose setter checks the value is a dict and stores it, as PyObject_GenericSetDict does) */
    PyObject *dict_descr = _PyType_Lookup(type, s_dict);
    if (dict_descr == NULL || !Py_IS_TYPE(dict_descr, &PyGetSetDescr_Type)) {
        return NULL;
    }
    Py_ssize_t fs = slot_offset(type, s_fields_set);
    Py_ssize_t ex = slot_offset(type, s_extra);
    Py_ssize_t pr = slot_offset(type, s_private);
    if (fs < 0 || ex < 0 || pr < 0) {
        return NULL;
    }
    Py_INCREF(type);
    cache[cached] = (SlotOffsets){type, fs, ex, pr};
    return &cache[cached++];
}

static void
store_slot(PyObject *obj, Py_ssize_t offset, PyObject *value)
{
    /* a fresh object: the slot is empty */
    Py_INCREF(value);
    *(PyObject **)((char *)obj + offset) = value;
}

static PyObject *
build(PyTypeObject *type, PyObject *values, PyObject *fields_set)
{
    if (type->tp_new != PyBaseObject_Type.tp_new || type->tp_dictoffset == 0) {
        PyErr_SetString(PyExc_TypeError, "new_model: cls must use object.__new__ and have a __dict__");
        return NULL;
    }
    PyObject *obj = type->tp_alloc(type, 0);
    if (obj == NULL) {
        return NULL;
    }
    SlotOffsets *offsets = offsets_of(type);
    if (offsets != NULL) {
        if (PyObject_GenericSetDict(obj, values, NULL) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
        store_slot(obj, offsets->fields_set, fields_set);
        store_slot(obj, offsets->extra, Py_None);
        store_slot(obj, offsets->private_, Py_None);
        return obj;
    }
    if (PyObject_GenericSetAttr(obj, s_dict, values) < 0
        || PyObject_GenericSetAttr(obj, s_fields_set, fields_set) < 0
        || PyObject_GenericSetAttr(obj, s_extra, Py_None) < 0
        || PyObject_GenericSetAttr(obj, s_private, Py_None) < 0) {
        Py_DECREF(obj);
        return NULL;
    }
    return obj;
}

static PyObject *
new_model(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "new_model(cls, values, fields_set) takes 3 arguments");
        return NULL;
    }
    if (!PyType_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "new_model: cls must be a type and values a dict");
        return NULL;
    }
    return build((PyTypeObject *)args[0], args[1], args[2]);
}

static PyObject *empty_args; /* () for tp_new */

static PyObject *
new_location(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError,
                        "new_location(cls, fields_set, file, segment, line, loop, segment_id, element, offset)"
                        " takes 9 arguments");
        return NULL;
    }
    if (!PyType_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "new_location: cls must be a type");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    SlotOffsets *offsets = offsets_of(type);
    if (type->tp_new != PyBaseObject_Type.tp_new || offsets == NULL) {
        PyErr_SetString(PyExc_TypeError, "new_location: cls must be a pydantic model using object.__new__");
        return NULL;
    }
    /* object.__new__(cls), then the eight fields set as instance attributes in Location's field
       order (object.__setattr__, which bypasses the frozen model's __setattr__). The instance
       keeps them the way CPython keeps any instance's attributes (in 3.11+, values that share
       one table of keys per class), not in a dict of its own: pydantic reads `__dict__`, which
       CPython then makes from them, in the same order. Half the work of building a dict and
       assigning it, and less to free. */
    PyObject *obj = type->tp_new(type, empty_args, NULL);
    if (obj == NULL) {
        return NULL;
    }
    PyObject *names[] = {s_file, s_path, s_segment, s_line, s_loop, s_segment_id, s_element, s_offset};
    PyObject *values[] = {args[2], Py_None, args[3], args[4], args[5], args[6], args[7], args[8]};
    for (int i = 0; i < 8; i++) {
        if (PyObject_GenericSetAttr(obj, names[i], values[i]) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    store_slot(obj, offsets->fields_set, args[1]);
    store_slot(obj, offsets->extra, Py_None);
    store_slot(obj, offsets->private_, Py_None);
    return obj;
}

static PyObject *
plain_getattr(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls) || !(((PyTypeObject *)cls)->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        PyErr_SetString(PyExc_TypeError, "plain_getattr: cls must be a class");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    type->tp_getattro = PyObject_GenericGetAttr;
    PyType_Modified(type);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"new_model", (PyCFunction)(void (*)(void))new_model, METH_FASTCALL,
     "new_model(cls, values, fields_set): a model instance with this __dict__ and fields set."},
    {"new_location", (PyCFunction)(void (*)(void))new_location, METH_FASTCALL,
     "new_location(cls, fields_set, file, segment, line, loop, segment_id, element, offset): "
     "an X12 Location (path None)."},
    {"plain_getattr", (PyCFunction)plain_getattr, METH_O,
     "plain_getattr(cls): attribute reads on instances of cls go straight to "
     "PyObject_GenericGetAttr (no __getattr__ fallback)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "cartcode._modelnew", NULL, -1, methods,
};

PyMODINIT_FUNC
PyInit__modelnew(void)
{
    PyObject **names[] = {&s_dict, &s_fields_set, &s_extra, &s_private, &s_file, &s_path,
                          &s_segment, &s_line, &s_loop, &s_segment_id, &s_element, &s_offset};
    const char *texts[] = {"__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__",
                           "file", "path", "segment", "line", "loop", "segment_id", "element", "offset"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i] = PyUnicode_InternFromString(texts[i]);
        if (*names[i] == NULL) {
            return NULL;
        }
    }
    empty_args = PyTuple_New(0);
    if (empty_args == NULL) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
