/* The forwarding loop's steady state in C: one call per incoming packet, whatever the number of subscribers.
 *
 * For each slot showing the packet's track, ``forward`` does what the Python
 * loop in ``Worker.deliver`` did: munge sequence number and timestamp (the
 * steady state of ``SlotMunger.munge``), copy the packet into one static
 * buffer, rewrite its header there, protect it in place with libsrtp and
 * ``send`` it on the subscriber's connected socket. Slots that need more (a
 * subscriber still connecting, a source switch, a video slot waiting for a
 * keyframe, extension remapping, a late packet) come back in a list for the
 * Python path. The state stays in the Python objects (read and written as
 * attributes), so the rest of the SFU sees exactly what the Python loop left.
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

typedef int (*protect_fn)(void *ctx, void *header, int *length);

#define BUFFER 2048

static protect_fn protect = NULL;
static Py_ssize_t limit = 0; /* largest packet that still fits with libsrtp's trailer */
static unsigned char buffer[BUFFER];

static PyObject *s_transport, *s_egress, *s_waiting_keyframe, *s_ext_map, *s_munger, *s_source_ssrc, *s_first_in_seq,
    *s_seq_offset, *s_ts_offset, *s_last_out_seq, *s_last_out_ts, *s_last_out_time, *s_payload_type, *s_ssrc,
    *s_srtp_errors, *s_send_dropped;

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

/* An int attribute as a C long; -1 with an exception set on failure. */
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

/* 1 if the slot takes the fast path (egress filled in), 0 if not, -1 on error. */
static int fast_slot(PyObject *slot, PyObject **transport, PyObject **munger, long long source_id, long seq) {
    PyObject *value = PyObject_GetAttr(slot, s_transport);
    if (value == NULL)
        return -1;
    if (value == Py_None) {
        Py_DECREF(value);
        return 0;
    }
    *transport = value;
    value = PyObject_GetAttr(slot, s_waiting_keyframe);
    if (value == NULL)
        return -1;
    int waiting = PyObject_IsTrue(value);
    Py_DECREF(value);
    if (waiting)
        return waiting < 0 ? -1 : 0;
    value = PyObject_GetAttr(slot, s_ext_map);
    if (value == NULL)
        return -1;
    Py_DECREF(value);
    if (value != Py_None)
        return 0;
    value = PyObject_GetAttr(slot, s_munger);
    if (value == NULL)
        return -1;
    *munger = value;
    value = PyObject_GetAttr(value, s_source_ssrc);
    if (value == NULL)
        return -1;
    if (value == Py_None) {
        Py_DECREF(value);
        return 0;
    }
    long long source = PyLong_AsLongLong(value);
    Py_DECREF(value);
    if (source == -1 && PyErr_Occurred())
        return -1;
    if (source != source_id)
        return 0;
    long long first = get_int(*munger, s_first_in_seq);
    if (first == -1 && PyErr_Occurred())
        return -1;
    return ((seq - first) & 0x8000) ? 0 : 1;
}

static inline void put32(unsigned char *at, uint32_t value) {
    at[0] = value >> 24;
    at[1] = value >> 16;
    at[2] = value >> 8;
    at[3] = value;
}

/* Munge, rewrite, protect and send to one fast slot; returns 1 if sent, 0 if dropped (counted), -1 on error. */
static int send_one(PyObject *slot, PyObject *transport, PyObject *munger, PyObject *egress, const char *data,
                    Py_ssize_t size, unsigned char marker, long seq, unsigned long ts, PyObject *now) {
    long long seq_offset = get_int(munger, s_seq_offset);
    long long ts_offset = get_int(munger, s_ts_offset);
    long long last_out_seq = get_int(munger, s_last_out_seq);
    long long payload_type = get_int(slot, s_payload_type);
    long long ssrc = get_int(slot, s_ssrc);
    if (PyErr_Occurred())
        return -1;
    if (!PyTuple_Check(egress) || PyTuple_GET_SIZE(egress) != 2) {
        PyErr_SetString(PyExc_TypeError, "egress must be a (srtp_t address, socket fd) tuple");
        return -1;
    }
    void *context = PyLong_AsVoidPtr(PyTuple_GET_ITEM(egress, 0));
    long fd = PyLong_AsLong(PyTuple_GET_ITEM(egress, 1));
    if (PyErr_Occurred())
        return -1;
    uint32_t out_seq = (uint32_t)(seq + seq_offset) & 0xFFFF;
    uint32_t out_ts = (uint32_t)((unsigned long long)ts + (unsigned long long)ts_offset);
    uint32_t ahead = (out_seq - (uint32_t)last_out_seq) & 0xFFFF;
    if (0 < ahead && ahead < 0x8000) {
        if (set_int(munger, s_last_out_seq, out_seq) < 0 || set_int(munger, s_last_out_ts, out_ts) < 0
            || PyObject_SetAttr(munger, s_last_out_time, now) < 0)
            return -1;
    }
    memcpy(buffer, data, size);
    buffer[1] = marker | (unsigned char)(payload_type & 0x7F);
    buffer[2] = out_seq >> 8;
    buffer[3] = out_seq;
    put32(buffer + 4, out_ts);
    put32(buffer + 8, (uint32_t)ssrc);
    int length = (int)size;
    if (protect(context, buffer, &length) != 0)
        return increment(transport, s_srtp_errors) < 0 ? -1 : 0;
    ssize_t written;
    do {
        written = send((int)fd, buffer, (size_t)length, MSG_DONTWAIT);
    } while (written < 0 && errno == EINTR);
    if (written < 0) /* buffer full (dropped as on a congested link), or ICMP unreachable: the subscriber left */
        return increment(transport, s_send_dropped) < 0 ? -1 : 0;
    return 1;
}

static PyObject *forward(PyObject *self, PyObject *args) {
    PyObject *slots, *data, *now;
    long seq;
    unsigned long ts;
    long long source_id;
    if (!PyArg_ParseTuple(args, "O!SlkLO", &PyList_Type, &slots, &data, &seq, &ts, &source_id, &now))
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
    PyObject *snapshot = PyList_GetSlice(slots, 0, PyList_GET_SIZE(slots)); /* attribute access could run Python code */
    if (snapshot == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(snapshot); i++) {
        PyObject *slot = PyList_GET_ITEM(snapshot, i);
        PyObject *transport = NULL, *munger = NULL, *egress = NULL;
        int fast = fast_slot(slot, &transport, &munger, source_id, seq);
        int status = fast;
        if (fast == 1) {
            egress = PyObject_GetAttr(transport, s_egress);
            if (egress == NULL)
                status = -1;
            else if (egress == Py_None)
                fast = 0;
            else
                status = send_one(slot, transport, munger, egress, bytes, size, marker, seq, ts, now);
        }
        Py_XDECREF(transport);
        Py_XDECREF(munger);
        Py_XDECREF(egress);
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
#define INTERN(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL;
    INTERN(s_transport, "transport")
    INTERN(s_egress, "egress")
    INTERN(s_waiting_keyframe, "waiting_keyframe")
    INTERN(s_ext_map, "ext_map")
    INTERN(s_munger, "munger")
    INTERN(s_source_ssrc, "source_ssrc")
    INTERN(s_first_in_seq, "first_in_seq")
    INTERN(s_seq_offset, "seq_offset")
    INTERN(s_ts_offset, "ts_offset")
    INTERN(s_last_out_seq, "last_out_seq")
    INTERN(s_last_out_ts, "last_out_ts")
    INTERN(s_last_out_time, "last_out_time")
    INTERN(s_payload_type, "payload_type")
    INTERN(s_ssrc, "ssrc")
    INTERN(s_srtp_errors, "srtp_errors")
    INTERN(s_send_dropped, "send_dropped")
#undef INTERN
    return PyModule_Create(&module);
}
