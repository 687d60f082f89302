/* The forwarding loop's steady state in C: one call per incoming packet, whatever the number of subscribers.
 *
 * For each slot showing the packet's track, ``forward`` does what the Python
 * loop in ``Worker.deliver`` did: munge sequence number and timestamp (the
 * steady state of ``SlotMunger.munge``), copy the packet into one static
 * buffer, rewrite its header there, protect it in place with libsrtp and
 * ``send`` it on the subscriber's connected socket. Slots that need more (a
 * subscriber still connecting, a source switch, a video slot waiting for a
 * keyframe, extension remapping, a late packet) come back in a list for the
 * Python path. The state the loop reads and writes lives in two C base
 * classes, ``SlotState`` (of ``rooms.media.slot.Slot``) and ``MungerState``
 * (of ``rooms.media.munger.SlotMunger``), whose fields Python sees as plain
 * attributes: the loop reads them from C structs instead of looking up a
 * dozen attributes per subscriber, which cost a sixth of a worker's CPU in
 * a 150-seat run, most of it cache misses in attribute lookups.
 *
 * libsrtp is the one inside pylibsrtp's wheel: ``setup`` receives the address
 * of its ``srtp_protect`` (``rooms/media/srtp.py``), so nothing is linked here.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <structmember.h>

typedef int (*protect_fn)(void *ctx, void *header, int *length);

#define BUFFER 2048

static protect_fn protect = NULL;
static Py_ssize_t limit = 0; /* largest packet that still fits with libsrtp's trailer */
static unsigned char buffer[BUFFER];

static PyObject *s_egress, *s_srtp_errors, *s_send_dropped;

/* --- the state: C structs that Python sees as attributes ------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *source_ssrc; /* the source's id (an int), or NULL/None before the first packet */
    PyObject *last_out_time; /* a float, or NULL/None before the first packet */
    unsigned int seq_offset, ts_offset, first_in_seq, first_out_seq, last_out_seq, last_out_ts;
} MungerState;

typedef struct {
    PyObject_HEAD
    PyObject *transport; /* the subscriber's PeerTransport; None for a local consumer (the recorder) */
    PyObject *munger; /* a MungerState */
    PyObject *ext_map; /* None when the extension ids need no remapping */
    unsigned int ssrc;
    int payload_type;
    char waiting_keyframe;
} SlotState;

static int munger_traverse(MungerState *self, visitproc visit, void *arg) {
    Py_VISIT(self->source_ssrc);
    Py_VISIT(self->last_out_time);
    return 0;
}

static int munger_clear(MungerState *self) {
    Py_CLEAR(self->source_ssrc);
    Py_CLEAR(self->last_out_time);
    return 0;
}

static void munger_dealloc(MungerState *self) {
    PyObject_GC_UnTrack(self);
    munger_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef munger_members[] = {
    {"source_ssrc", T_OBJECT, offsetof(MungerState, source_ssrc), 0, NULL},
    {"last_out_time", T_OBJECT, offsetof(MungerState, last_out_time), 0, NULL},
    {"seq_offset", T_UINT, offsetof(MungerState, seq_offset), 0, NULL},
    {"ts_offset", T_UINT, offsetof(MungerState, ts_offset), 0, NULL},
    {"first_in_seq", T_UINT, offsetof(MungerState, first_in_seq), 0, NULL},
    {"first_out_seq", T_UINT, offsetof(MungerState, first_out_seq), 0, NULL},
    {"last_out_seq", T_UINT, offsetof(MungerState, last_out_seq), 0, NULL},
    {"last_out_ts", T_UINT, offsetof(MungerState, last_out_ts), 0, NULL},
    {NULL},
};

static PyTypeObject MungerStateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "rooms.media._forward.MungerState",
    .tp_doc = "The fields of a SlotMunger that the forwarding loop reads and writes.",
    .tp_basicsize = sizeof(MungerState),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_traverse = (traverseproc)munger_traverse,
    .tp_clear = (inquiry)munger_clear,
    .tp_dealloc = (destructor)munger_dealloc,
    .tp_members = munger_members,
};

static int slot_traverse(SlotState *self, visitproc visit, void *arg) {
    Py_VISIT(self->transport);
    Py_VISIT(self->munger);
    Py_VISIT(self->ext_map);
    return 0;
}

static int slot_clear(SlotState *self) {
    Py_CLEAR(self->transport);
    Py_CLEAR(self->munger);
    Py_CLEAR(self->ext_map);
    return 0;
}

static void slot_dealloc(SlotState *self) {
    PyObject_GC_UnTrack(self);
    slot_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef slot_members[] = {
    {"transport", T_OBJECT, offsetof(SlotState, transport), 0, NULL},
    {"munger", T_OBJECT, offsetof(SlotState, munger), 0, NULL},
    {"ext_map", T_OBJECT, offsetof(SlotState, ext_map), 0, NULL},
    {"ssrc", T_UINT, offsetof(SlotState, ssrc), 0, NULL},
    {"payload_type", T_INT, offsetof(SlotState, payload_type), 0, NULL},
    {"waiting_keyframe", T_BOOL, offsetof(SlotState, waiting_keyframe), 0, NULL},
    {NULL},
};

static PyTypeObject SlotStateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "rooms.media._forward.SlotState",
    .tp_doc = "The fields of a Slot that the forwarding loop reads.",
    .tp_basicsize = sizeof(SlotState),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_traverse = (traverseproc)slot_traverse,
    .tp_clear = (inquiry)slot_clear,
    .tp_dealloc = (destructor)slot_dealloc,
    .tp_members = slot_members,
};

/* --- the loop ---------------------------------------------------------------------------------- */

static PyObject *setup(PyObject *self, PyObject *args) {
    unsigned long long address;
    Py_ssize_t trailer;
    if (!PyArg_ParseTuple(args, "Kn", &address, &trailer))
        return NULL;
    if (trailer < 0 || trailer >= BUFFER) {
        PyErr_SetString(PyExc_ValueError, "SRTP trailer larger than the buffer");
        return NULL;
    }
    protect = (protect_fn)(uintptr_t)address;
    limit = BUFFER - trailer;
    return PyLong_FromSsize_t(limit);
}

/* An int attribute as a C long long; -1 with an exception set on failure. */
static long long get_int(PyObject *object, PyObject *name) {
    PyObject *value = PyObject_GetAttr(object, name);
    if (value == NULL)
        return -1;
    long long result = PyLong_AsLongLong(value);
    Py_DECREF(value);
    return result;
}

static int set_int(PyObject *object, PyObject *name, unsigned long long number) {
    PyObject *value = PyLong_FromUnsignedLongLong(number);
    if (value == NULL)
        return -1;
    int status = PyObject_SetAttr(object, name, value);
    Py_DECREF(value);
    return status;
}

static int increment(PyObject *object, PyObject *name) {
    long long count = get_int(object, name);
    if (count == -1 && PyErr_Occurred())
        return -1;
    return set_int(object, name, (unsigned long long)count + 1);
}

/* The slot's munger if the slot takes the fast path for this packet (its source, in order, nothing to wait for), else NULL. */
static MungerState *fast_munger(SlotState *slot, PyObject *source, long long source_id, long seq) {
    if (slot->transport == NULL || slot->transport == Py_None || slot->waiting_keyframe)
        return NULL;
    if (slot->ext_map != NULL && slot->ext_map != Py_None)
        return NULL;
    if (slot->munger == NULL || !PyObject_TypeCheck(slot->munger, &MungerStateType))
        return NULL;
    MungerState *munger = (MungerState *)slot->munger;
    PyObject *current = munger->source_ssrc;
    if (current != source) { /* the same int object in the steady state: SlotMunger stores the track id it was given */
        if (current == NULL || !PyLong_CheckExact(current))
            return NULL;
        int overflow;
        if (PyLong_AsLongLongAndOverflow(current, &overflow) != source_id || overflow)
            return NULL;
    }
    return ((seq - (long)munger->first_in_seq) & 0x8000) ? NULL : munger;
}

static inline void put32(unsigned char *at, uint32_t value) {
    at[0] = value >> 24;
    at[1] = value >> 16;
    at[2] = value >> 8;
    at[3] = value;
}

/* Munge, rewrite, protect and send to one fast slot; returns 1 if sent, 0 if dropped (counted), -1 on error. */
static int send_one(SlotState *slot, MungerState *munger, PyObject *egress, const char *data, Py_ssize_t size,
                    unsigned char marker, long seq, unsigned long ts, PyObject *now) {
    if (!PyTuple_Check(egress) || PyTuple_GET_SIZE(egress) != 2) {
        PyErr_SetString(PyExc_TypeError, "egress must be a (srtp_t address, socket fd) tuple");
        return -1;
    }
    void *context = PyLong_AsVoidPtr(PyTuple_GET_ITEM(egress, 0));
    long fd = PyLong_AsLong(PyTuple_GET_ITEM(egress, 1));
    if (PyErr_Occurred())
        return -1;
    uint32_t out_seq = (uint32_t)(seq + munger->seq_offset) & 0xFFFF;
    uint32_t out_ts = (uint32_t)ts + munger->ts_offset;
    uint32_t ahead = (out_seq - munger->last_out_seq) & 0xFFFF;
    if (0 < ahead && ahead < 0x8000) {
        munger->last_out_seq = out_seq;
        munger->last_out_ts = out_ts;
        Py_INCREF(now);
        Py_XSETREF(munger->last_out_time, now);
    }
    memcpy(buffer, data, size);
    buffer[1] = marker | (unsigned char)(slot->payload_type & 0x7F);
    buffer[2] = out_seq >> 8;
    buffer[3] = out_seq;
    put32(buffer + 4, out_ts);
    put32(buffer + 8, slot->ssrc);
    int length = (int)size;
    if (protect(context, buffer, &length) != 0)
        return increment(slot->transport, s_srtp_errors) < 0 ? -1 : 0;
    ssize_t written;
    do {
        written = send((int)fd, buffer, (size_t)length, MSG_DONTWAIT);
    } while (written < 0 && errno == EINTR);
    if (written < 0) /* buffer full (dropped as on a congested link), or ICMP unreachable: the subscriber left */
        return increment(slot->transport, s_send_dropped) < 0 ? -1 : 0;
    return 1;
}

static PyObject *forward(PyObject *self, PyObject *args) {
    PyObject *slots, *data, *source, *now;
    long seq;
    unsigned long ts;
    if (!PyArg_ParseTuple(args, "O!SlkO!O", &PyList_Type, &slots, &data, &seq, &ts, &PyLong_Type, &source, &now))
        return NULL;
    long long source_id = PyLong_AsLongLong(source);
    if (source_id == -1 && PyErr_Occurred())
        return NULL;
    if (protect == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup() was not called");
        return NULL;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    if (size < 12 || size > limit) {
        PyErr_SetString(PyExc_ValueError, "packet size out of range for forwarding");
        return NULL;
    }
    const char *bytes = PyBytes_AS_STRING(data);
    unsigned char marker = (unsigned char)bytes[1] & 0x80;
    long sent = 0;
    PyObject *slow = NULL;
    PyObject *snapshot = PyList_GetSlice(slots, 0, PyList_GET_SIZE(slots)); /* reading egress could run Python code */
    if (snapshot == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(snapshot); i++) {
        PyObject *slot = PyList_GET_ITEM(snapshot, i);
        if (!PyObject_TypeCheck(slot, &SlotStateType)) {
            PyErr_SetString(PyExc_TypeError, "a track's slots must be SlotState instances");
            goto error;
        }
        MungerState *munger = fast_munger((SlotState *)slot, source, source_id, seq);
        int fast = munger != NULL, status = 0;
        if (fast) {
            Py_INCREF(munger); /* the attribute lookup below could run Python code that replaces the slot's munger */
            PyObject *egress = PyObject_GetAttr(((SlotState *)slot)->transport, s_egress);
            if (egress == NULL)
                status = -1;
            else if (egress == Py_None)
                fast = 0;
            else
                status = send_one((SlotState *)slot, munger, egress, bytes, size, marker, seq, ts, now);
            Py_XDECREF(egress);
            Py_DECREF(munger);
        }
        if (status < 0)
            goto error;
        if (fast == 0) {
            if (slow == NULL && (slow = PyList_New(0)) == NULL)
                goto error;
            if (PyList_Append(slow, slot) < 0)
                goto error;
        } else {
            sent += status;
        }
    }
    Py_DECREF(snapshot);
    if (slow == NULL) {
        slow = Py_None;
        Py_INCREF(slow);
    }
    return Py_BuildValue("lN", sent, slow);
error:
    Py_DECREF(snapshot);
    Py_XDECREF(slow);
    return NULL;
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS, "setup(srtp_protect_address, max_trailer) -> the largest packet forward takes: the libsrtp protect to call."},
    {"forward", forward, METH_VARARGS,
     "forward(slots, data, seq, ts, source_id, now) -> (sent, slow slots or None): the fast path of Worker.deliver."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_forward", NULL, -1, methods};

PyMODINIT_FUNC PyInit__forward(void) {
    if ((s_egress = PyUnicode_InternFromString("egress")) == NULL
        || (s_srtp_errors = PyUnicode_InternFromString("srtp_errors")) == NULL
        || (s_send_dropped = PyUnicode_InternFromString("send_dropped")) == NULL)
        return NULL;
    if (PyType_Ready(&MungerStateType) < 0 || PyType_Ready(&SlotStateType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "MungerState", (PyObject *)&MungerStateType) < 0
        || PyModule_AddObjectRef(m, "SlotState", (PyObject *)&SlotStateType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
