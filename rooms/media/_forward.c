/* The forwarding loop's steady state in C: one call per incoming packet, whatever the number of subscribers.
 *
 * For each slot showing the packet's track, ``forward`` does what the Python
 * loop in ``Worker.deliver`` did: munge sequence number and timestamp (the
 * steady state of ``SlotMunger.munge``), copy the packet into one static
 * buffer, rewrite its header there (and a VP8 payload descriptor's picture id and
 * TL0PICIDX: ``rewrite_picture``), protect it in place with libsrtp and
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
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
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
    /* VP8 picture id (15-bit space) and TL0PICIDX: offsets of the current segment, last sent (NO_PICTURE: none yet) */
    unsigned int pid_offset, tl0_offset, last_out_pid, last_out_tl0;
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
    {"pid_offset", T_UINT, offsetof(MungerState, pid_offset), 0, NULL},
    {"tl0_offset", T_UINT, offsetof(MungerState, tl0_offset), 0, NULL},
    {"last_out_pid", T_UINT, offsetof(MungerState, last_out_pid), 0, NULL},
    {"last_out_tl0", T_UINT, offsetof(MungerState, last_out_tl0), 0, NULL},
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

/* The steady state of ``SlotMunger.rewrite_picture``: the VP8 payload descriptor at ``at`` in the buffer gets the
 * segment's picture id and TL0PICIDX offsets (a 7-bit picture id stays 7 bits); an in-order packet's become the
 * last sent. A descriptor cut short is left alone. */
static void rewrite_picture(MungerState *munger, Py_ssize_t at, Py_ssize_t size, int ahead) {
    if (at < 0 || at + 2 > size || !(buffer[at] & 0x80))
        return;
    unsigned char bits = buffer[at + 1];
    Py_ssize_t pos = at + 2;
    if (bits & 0x80) { /* I: picture id */
        if (pos >= size)
            return;
        if (buffer[pos] & 0x80) {
            if (pos + 2 > size)
                return;
            unsigned int out = ((((buffer[pos] & 0x7F) << 8) | buffer[pos + 1]) + munger->pid_offset) & 0x7FFF;
            buffer[pos] = 0x80 | (out >> 8);
            buffer[pos + 1] = out & 0xFF;
            pos += 2;
            if (ahead)
                munger->last_out_pid = out;
        } else {
            unsigned int out = ((buffer[pos] & 0x7F) + munger->pid_offset) & 0x7FFF;
            buffer[pos] = out & 0x7F;
            pos += 1;
            if (ahead)
                munger->last_out_pid = out;
        }
    }
    if ((bits & 0x40) && pos < size) { /* L: TL0PICIDX */
        unsigned int out = (buffer[pos] + munger->tl0_offset) & 0xFF;
        buffer[pos] = (unsigned char)out;
        if (ahead)
            munger->last_out_tl0 = out;
    }
}

/* Munge, rewrite, protect and send to one fast slot; returns 1 if sent, 0 if dropped (counted), -1 on error. */
static int send_one(SlotState *slot, MungerState *munger, PyObject *egress, const char *data, Py_ssize_t size,
                    unsigned char marker, long seq, unsigned long ts, PyObject *now, Py_ssize_t vp8_at) {
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
    int in_order = 0 < ahead && ahead < 0x8000;
    if (in_order) {
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
    if (vp8_at >= 0)
        rewrite_picture(munger, vp8_at, size, in_order);
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
    Py_ssize_t vp8_at = -1; /* where a VP8 payload descriptor starts, -1 for other codecs */
    if (!PyArg_ParseTuple(args, "O!SlkO!O|n", &PyList_Type, &slots, &data, &seq, &ts, &PyLong_Type, &source, &now, &vp8_at))
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
                status = send_one((SlotState *)slot, munger, egress, bytes, size, marker, seq, ts, now, vp8_at);
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


/* --- ingress: the participants' sockets, read without Python per skipped datagram ------------------------
 *
 * ``receive`` reads up to ``limit`` datagrams from one non-blocking socket. An
 * RTP datagram (still SRTP-protected) whose SSRC maps to a ``ReceiveState``
 * that may skip it is counted there and dropped without a Python object being
 * made: the SFU's silent audio of sources nobody hears, the bench clients'
 * counted packets. Everything else (the rest of the RTP, RTCP, STUN, DTLS)
 * comes back to Python. In a 300-seat meeting nearly every datagram in is
 * silence, and reading it in Python (the reader's loop, the peek at its clear
 * header, the counting, an exception at the empty socket) cost as much CPU as
 * the packets the SFU forwards.
 */

#define RECEIVE_BUFFER 4096 /* rooms.media.transport.RECV_BUFFER: media fits an MTU, DTLS and STUN a few KiB */

static unsigned char in_buffer[RECEIVE_BUFFER];

typedef struct {
    PyObject_HEAD
    unsigned long long received, skipped;
    long long cycles;
    unsigned int highest_seq, base_seq;
    char has_base, skippable;
    int level_id, audible, sample;
} ReceiveState;

/* RFC 3550 A.1-style statistics: one packet with sequence number ``seq``. */
static void count_packet(ReceiveState *self, unsigned int seq) {
    self->received++;
    if (!self->has_base) {
        self->has_base = 1;
        self->base_seq = self->highest_seq = seq;
        return;
    }
    unsigned int delta = (seq - self->highest_seq) & 0xFFFF;
    if (0 < delta && delta < 0x8000) {
        if (seq < self->highest_seq)
            self->cycles += 0x10000;
        self->highest_seq = seq;
    }
}

static PyObject *receive_count(ReceiveState *self, PyObject *arg) {
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred())
        return NULL;
    count_packet(self, (unsigned int)seq & 0xFFFF);
    Py_RETURN_NONE;
}

static PyObject *get_base_seq(ReceiveState *self, void *closure) {
    if (!self->has_base)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(self->base_seq);
}

static PyObject *get_extended_highest(ReceiveState *self, void *closure) {
    return PyLong_FromLongLong(self->cycles + self->highest_seq);
}

static PyMemberDef receive_members[] = {
    {"received", T_ULONGLONG, offsetof(ReceiveState, received), READONLY, "packets counted"},
    {"skipped", T_ULONGLONG, offsetof(ReceiveState, skipped), READONLY, "skippable packets seen (the sampled ones included)"},
    {"highest_seq", T_UINT, offsetof(ReceiveState, highest_seq), READONLY, NULL},
    {"cycles", T_LONGLONG, offsetof(ReceiveState, cycles), READONLY, NULL},
    {"skippable", T_BOOL, offsetof(ReceiveState, skippable), 0, "receive() may count and drop this stream's packets"},
    {"level_id", T_INT, offsetof(ReceiveState, level_id), 0, "0: any packet is skippable; else only those whose RFC 6464 level (this extension id) is above audible"},
    {"audible", T_INT, offsetof(ReceiveState, audible), 0, "the loudest level (-dBov) that is still silence"},
    {"sample", T_INT, offsetof(ReceiveState, sample), 0, "one skippable packet in this many comes back anyway (0: none)"},
    {NULL},
};

static PyGetSetDef receive_getset[] = {
    {"base_seq", (getter)get_base_seq, NULL, "the first sequence number counted, None before", NULL},
    {"extended_highest", (getter)get_extended_highest, NULL, "the highest sequence number counted, with its wrap-arounds", NULL},
    {NULL},
};

static PyMethodDef receive_methods[] = {
    {"count", (PyCFunction)receive_count, METH_O, "count(seq): one packet received."},
    {NULL},
};

static PyTypeObject ReceiveStateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "rooms.media._forward.ReceiveState",
    .tp_doc = "A received stream's counters, and whether receive() may count and drop its packets unread.",
    .tp_basicsize = sizeof(ReceiveState),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_members = receive_members,
    .tp_getset = receive_getset,
    .tp_methods = receive_methods,
};

/* The RFC 6464 level of an SRTP packet from its clear header (one-byte extensions), or -1 if it has none. */
static int clear_level(const unsigned char *data, Py_ssize_t size, int ext_id) {
    if (size < 12 || !(data[0] & 0x10))
        return -1;
    Py_ssize_t offset = 12 + 4 * (data[0] & 0x0F);
    if (offset + 4 > size)
        return -1;
    unsigned int profile = (data[offset] << 8) | data[offset + 1];
    Py_ssize_t end = offset + 4 + 4 * ((data[offset + 2] << 8) | data[offset + 3]);
    if (profile != 0xBEDE || end > size || end < offset + 6)
        return -1;
    Py_ssize_t pos = offset + 4;
    while (pos < end) {
        unsigned char byte = data[pos];
        if (byte == 0) { /* padding between elements */
            pos++;
            continue;
        }
        int id = byte >> 4, length = (byte & 0x0F) + 1;
        if (id == 15 || pos + 1 + length > end) /* reserved id: stop (RFC 8285 4.2); or malformed */
            return -1;
        if (id == ext_id)
            return data[pos + 1] & 0x7F;
        pos += 1 + length;
    }
    return -1;
}

static PyObject *clear_level_py(PyObject *self, PyObject *args) {
    Py_buffer data;
    int ext_id;
    if (!PyArg_ParseTuple(args, "y*i", &data, &ext_id))
        return NULL;
    int level = clear_level(data.buf, data.len, ext_id);
    PyBuffer_Release(&data);
    if (level < 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(level);
}

/* 1 if the RTP datagram was counted and dropped, 0 if Python gets it, -1 on error. */
static int skip(PyObject *streams, const unsigned char *data, Py_ssize_t size) {
    PyObject *key = PyLong_FromUnsignedLong(((unsigned long)data[8] << 24) | (data[9] << 16) | (data[10] << 8) | data[11]);
    if (key == NULL)
        return -1;
    PyObject *found = PyDict_GetItemWithError(streams, key); /* borrowed */
    Py_DECREF(key);
    if (found == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyObject_TypeCheck(found, &ReceiveStateType))
        return 0;
    ReceiveState *stream = (ReceiveState *)found;
    if (!stream->skippable)
        return 0;
    if (stream->level_id) {
        int level = clear_level(data, size, stream->level_id);
        if (level < 0 || level <= stream->audible)
            return 0;
    }
    stream->skipped++;
    if (stream->sample > 0 && stream->skipped % stream->sample == 0)
        return 0;
    count_packet(stream, (data[2] << 8) | data[3]);
    return 1;
}

/* The sender's address as Python's socket module gives it. */
static PyObject *address(const struct sockaddr_storage *from) {
    char host[NI_MAXHOST];
    if (from->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)from;
        if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof host) == NULL)
            return PyErr_SetFromErrno(PyExc_OSError);
        return Py_BuildValue("(si)", host, ntohs(in->sin_port));
    }
    if (from->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)from;
        if (getnameinfo((const struct sockaddr *)in6, sizeof *in6, host, sizeof host, NULL, 0, NI_NUMERICHOST) != 0) {
            PyErr_SetString(PyExc_OSError, "getnameinfo failed");
            return NULL;
        }
        return Py_BuildValue("(siII)", host, ntohs(in6->sin6_port), ntohl(in6->sin6_flowinfo), in6->sin6_scope_id);
    }
    Py_RETURN_NONE;
}

static int append(PyObject **list, PyObject *item) {
    if (item == NULL)
        return -1;
    if (*list == NULL && (*list = PyList_New(0)) == NULL) {
        Py_DECREF(item);
        return -1;
    }
    int status = PyList_Append(*list, item);
    Py_DECREF(item);
    return status;
}

static PyObject *receive(PyObject *self, PyObject *args) {
    int fd, limit;
    PyObject *streams;
    if (!PyArg_ParseTuple(args, "iO!i", &fd, &PyDict_Type, &streams, &limit))
        return NULL;
    PyObject *media = NULL, *other = NULL;
    long skipped = 0;
    int more = 1;
    for (int i = 0; i < limit; i++) {
        struct sockaddr_storage from;
        socklen_t from_size = sizeof from;
        ssize_t size = recvfrom(fd, in_buffer, RECEIVE_BUFFER, MSG_DONTWAIT, (struct sockaddr *)&from, &from_size);
        if (size < 0) {
            if (errno == EINTR) {
                i--;
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                more = 0;
                break;
            }
            continue; /* an ICMP error reported on the socket */
        }
        const unsigned char *data = in_buffer;
        if (size < 12 || data[0] < 128 || data[0] > 191) { /* STUN consent checks, DTLS */
            PyObject *sender = address(&from);
            if (sender == NULL || append(&other, Py_BuildValue("(y#N)", (const char *)data, (Py_ssize_t)size, sender)) < 0)
                goto error;
            continue;
        }
        if (!(192 <= data[1] && data[1] <= 223)) { /* RTP, not RTCP */
            int status = skip(streams, data, size);
            if (status < 0)
                goto error;
            if (status) {
                skipped++;
                continue;
            }
        }
        if (append(&media, PyBytes_FromStringAndSize((const char *)data, size)) < 0)
            goto error;
    }
    return Py_BuildValue("(NNli)", media ? media : Py_NewRef(Py_None), other ? other : Py_NewRef(Py_None), skipped, more);
error:
    Py_XDECREF(media);
    Py_XDECREF(other);
    return NULL;
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS, "setup(srtp_protect_address, max_trailer) -> the largest packet forward takes: the libsrtp protect to call."},
    {"forward", forward, METH_VARARGS,
     "forward(slots, data, seq, ts, source_id, now) -> (sent, slow slots or None): the fast path of Worker.deliver."},
    {"receive", receive, METH_VARARGS,
     "receive(fd, streams, limit) -> (SRTP/SRTCP datagrams or None, (datagram, sender) others or None, skipped, more): "
     "read up to limit datagrams; RTP that streams (ssrc -> ReceiveState) may skip is counted there and dropped."},
    {"clear_level", clear_level_py, METH_VARARGS, "clear_level(srtp_packet, ext_id) -> its RFC 6464 level read from the clear header, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_forward", NULL, -1, methods};

PyMODINIT_FUNC PyInit__forward(void) {
    if ((s_egress = PyUnicode_InternFromString("egress")) == NULL
        || (s_srtp_errors = PyUnicode_InternFromString("srtp_errors")) == NULL
        || (s_send_dropped = PyUnicode_InternFromString("send_dropped")) == NULL)
        return NULL;
    if (PyType_Ready(&MungerStateType) < 0 || PyType_Ready(&SlotStateType) < 0 || PyType_Ready(&ReceiveStateType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "MungerState", (PyObject *)&MungerStateType) < 0
        || PyModule_AddObjectRef(m, "SlotState", (PyObject *)&SlotStateType) < 0
        || PyModule_AddObjectRef(m, "ReceiveState", (PyObject *)&ReceiveStateType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
