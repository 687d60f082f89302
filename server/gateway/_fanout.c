/* One shared WebSocket message written to many sockets in one call (``Hub.send_to_users``).
 *
 * ``send(message, user_ids, connections, threads)`` looks up each user's
 * sockets in ``connections`` (the hub's dict of user id -> tuple of
 * ``Connection``, server/gateway/hub.py) and looks at each with the GIL held:
 *
 *   - ``closed``: skipped, as ``Connection.send_message`` would;
 *   - its transport closing, its WebSocket closed, or its transport holding
 *     unsent bytes (aiohttp's own frames, an earlier message the kernel did
 *     not take): handed back to Python untouched, since those bytes must
 *     leave first and the Python path applies the slow-reader limit;
 *   - otherwise the socket's file descriptor (``fd``) is written directly,
 *     unless it has none to give (-1: under TLS the socket carries ciphertext).
 *
 * Then, with the GIL released, each of those descriptors gets ``send(2)``
 * with MSG_DONTWAIT, the list split over up to ``threads`` threads. The
 * transport's buffer being empty means everything written to it before is
 * in the kernel, so the message follows it in order; nothing else writes to
 * these sockets meanwhile, because the event loop's thread is here. A
 * transport that is not closing still owns its descriptor, so the number
 * cannot have been reused.
 *
 * Returns ``(sent, rest)``: how many sockets took the whole message, and a
 * list of ``(connection, offset)`` for the others, ``offset`` being how many
 * bytes the kernel took (0 for those handed back, for EAGAIN and for
 * errors). The hub gives each the rest through its transport, which buffers
 * it or meets the error again and closes the connection.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* Python ignores SIGPIPE anyway */
#endif

#define MAX_THREADS 16
#define MIN_PER_THREAD 256 /* fewer sockets than this per extra thread: not worth starting one */

static PyObject *s_closed, *s_fd, *s_transport, *s_ws, *s_is_closing, *s_get_write_buffer_size, *s__closing, *s__buffer;

typedef struct {
    const char *data;
    Py_ssize_t length;
    const int *fds;
    Py_ssize_t *taken; /* out: bytes the kernel took, per descriptor */
    Py_ssize_t count;
} Share;

static Py_ssize_t write_fd(int fd, const char *data, Py_ssize_t length) {
    Py_ssize_t done = 0;
    while (done < length) {
        ssize_t n = send(fd, data + done, (size_t)(length - done), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            done += n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            break; /* EAGAIN or an error: the transport takes over from ``done`` */
    }
    return done;
}

static void *write_share(void *arg) {
    Share *share = arg;
    for (Py_ssize_t i = 0; i < share->count; i++)
        share->taken[i] = write_fd(share->fds[i], share->data, share->length);
    return NULL;
}

static void write_all(const char *data, Py_ssize_t length, const int *fds, Py_ssize_t *taken, Py_ssize_t count, int threads) {
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads > 1 + count / MIN_PER_THREAD)
        threads = (int)(1 + count / MIN_PER_THREAD);
    if (threads < 1)
        threads = 1;
    Share shares[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    Py_ssize_t per = (count + threads - 1) / threads, at = 0;
    for (int t = 0; t < threads; t++) {
        Py_ssize_t n = count - at < per ? count - at : per;
        shares[t] = (Share){data, length, fds + at, taken + at, n};
        at += n;
    }
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&ids[t], NULL, write_share, &shares[t]) == 0;
    write_share(&shares[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else
            write_share(&shares[t]); /* no thread: this one does that share too */
    }
}

/* Whether the transport is closing (1), holds unsent bytes (2), or neither (0); -1: a Python error.
 *
 * asyncio's selector transport keeps ``_closing`` and ``_buffer`` (empty when
 * nothing waits) in its instance dict: a lookup each, where ``is_closing()``
 * and ``get_write_buffer_size()`` cost a Python call each (the checks took
 * 0.55 µs per socket this way, 0.81 µs with the methods, over 4,000 sockets
 * with cold caches). A transport without them is asked through the methods. */
static int transport_state(PyObject *transport) {
    PyObject *closing = PyObject_GetAttr(transport, s__closing);
    PyObject *buffer = closing == NULL ? NULL : PyObject_GetAttr(transport, s__buffer);
    Py_ssize_t buffered;
    int truth;
    if (buffer != NULL) {
        truth = PyObject_IsTrue(closing);
        buffered = truth == 0 ? PyObject_Length(buffer) : 0;
        Py_DECREF(closing);
        Py_DECREF(buffer);
    } else {
        Py_XDECREF(closing);
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear();
        PyObject *value = PyObject_CallMethodNoArgs(transport, s_is_closing);
        truth = value == NULL ? -1 : PyObject_IsTrue(value);
        Py_XDECREF(value);
        buffered = 0;
        if (truth == 0) {
            value = PyObject_CallMethodNoArgs(transport, s_get_write_buffer_size);
            buffered = value == NULL ? -1 : PyLong_AsSsize_t(value);
            Py_XDECREF(value);
        }
    }
    if (truth < 0 || buffered < 0)
        return -1;
    return truth ? 1 : buffered ? 2 : 0;
}

/* 1: write directly; 0: skip (closed); 2: hand back to Python; -1: a Python error. */
static int classify(PyObject *connection, int *fd) {
    PyObject *value = PyObject_GetAttr(connection, s_closed);
    if (value == NULL)
        return -1;
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    if (truth != 0)
        return truth < 0 ? -1 : 0;
    PyObject *transport = PyObject_GetAttr(connection, s_transport);
    if (transport == NULL)
        return -1;
    int state = transport_state(transport);
    Py_DECREF(transport);
    if (state != 0)
        return state < 0 ? -1 : 2;
    PyObject *ws = PyObject_GetAttr(connection, s_ws);
    if (ws == NULL)
        return -1;
    value = PyObject_GetAttr(ws, s_closed);
    Py_DECREF(ws);
    truth = value == NULL ? -1 : PyObject_IsTrue(value);
    Py_XDECREF(value);
    if (truth != 0)
        return truth < 0 ? -1 : 2;
    value = PyObject_GetAttr(connection, s_fd);
    if (value == NULL)
        return -1;
    long number = PyLong_AsLong(value);
    Py_DECREF(value);
    if (number == -1 && PyErr_Occurred())
        return -1;
    if (number < 0)
        return 2;
    *fd = (int)number;
    return 1;
}

static int add_rest(PyObject *rest, PyObject *connection, Py_ssize_t offset) {
    PyObject *item = Py_BuildValue("(On)", connection, offset);
    if (item == NULL)
        return -1;
    int failed = PyList_Append(rest, item);
    Py_DECREF(item);
    return failed;
}

/* The sockets to write directly: descriptors and their connections (new references), grown as needed. */
typedef struct {
    int *fds;
    PyObject **which;
    Py_ssize_t count, capacity;
} Direct;

/* Sort one connection into ``direct`` or ``rest``; -1 on a Python error. */
static int sort(PyObject *connection, PyObject *rest, Direct *direct) {
    int fd = -1, kind = classify(connection, &fd);
    if (kind < 0 || (kind == 2 && add_rest(rest, connection, 0) < 0))
        return -1;
    if (kind != 1)
        return 0;
    if (direct->count == direct->capacity) {
        Py_ssize_t capacity = direct->capacity ? 2 * direct->capacity : 1024;
        int *fds = PyMem_Realloc(direct->fds, sizeof(int) * capacity);
        if (fds != NULL)
            direct->fds = fds;
        PyObject **which = fds == NULL ? NULL : PyMem_Realloc(direct->which, sizeof(PyObject *) * capacity);
        if (which == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        direct->which = which;
        direct->capacity = capacity;
    }
    direct->fds[direct->count] = fd;
    Py_INCREF(connection);
    direct->which[direct->count++] = connection;
    return 0;
}

static PyObject *fanout_send(PyObject *module, PyObject *args) {
    Py_buffer message;
    PyObject *user_ids_arg, *connections;
    int threads;
    if (!PyArg_ParseTuple(args, "y*OO!i:send", &message, &user_ids_arg, &PyDict_Type, &connections, &threads))
        return NULL;
    PyObject *result = NULL, *rest = NULL;
    Direct direct = {NULL, NULL, 0, 0};
    Py_ssize_t *taken = NULL, sent = 0;
    PyObject *user_ids = PySequence_Fast(user_ids_arg, "user_ids must be iterable");
    if (user_ids == NULL || (rest = PyList_New(0)) == NULL)
        goto done;
    PyObject **ids = PySequence_Fast_ITEMS(user_ids);
    for (Py_ssize_t u = 0; u < PySequence_Fast_GET_SIZE(user_ids); u++) {
        PyObject *sockets = PyDict_GetItemWithError(connections, ids[u]); /* borrowed */
        if (sockets == NULL && PyErr_Occurred())
            goto done;
        if (sockets != NULL && !PyTuple_Check(sockets)) {
            PyErr_SetString(PyExc_TypeError, "connections must map user ids to tuples");
            goto done;
        }
        for (Py_ssize_t i = 0; sockets != NULL && i < PyTuple_GET_SIZE(sockets); i++)
            if (sort(PyTuple_GET_ITEM(sockets, i), rest, &direct) < 0)
                goto done;
    }
    if (direct.count) {
        if ((taken = PyMem_Malloc(sizeof(Py_ssize_t) * direct.count)) == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        Py_BEGIN_ALLOW_THREADS
        write_all(message.buf, message.len, direct.fds, taken, direct.count, threads);
        Py_END_ALLOW_THREADS
    }
    for (Py_ssize_t d = 0; d < direct.count; d++) {
        if (taken[d] == message.len)
            sent++;
        else if (add_rest(rest, direct.which[d], taken[d]) < 0)
            goto done;
    }
    result = Py_BuildValue("(nO)", sent, rest);
done:
    for (Py_ssize_t d = 0; d < direct.count; d++)
        Py_DECREF(direct.which[d]);
    PyMem_Free(direct.fds);
    PyMem_Free(direct.which);
    PyMem_Free(taken);
    Py_XDECREF(rest);
    Py_XDECREF(user_ids);
    PyBuffer_Release(&message);
    return result;
}

static PyMethodDef methods[] = {
    {"send", fanout_send, METH_VARARGS,
     "send(message, user_ids, connections, threads) -> (sent, [(connection, offset), ...]): write one message to many sockets."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_fanout", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fanout(void) {
    if (!(s_closed = PyUnicode_InternFromString("closed")) || !(s_fd = PyUnicode_InternFromString("fd"))
        || !(s_transport = PyUnicode_InternFromString("_transport")) || !(s_ws = PyUnicode_InternFromString("_ws"))
        || !(s_is_closing = PyUnicode_InternFromString("is_closing"))
        || !(s_get_write_buffer_size = PyUnicode_InternFromString("get_write_buffer_size"))
        || !(s__closing = PyUnicode_InternFromString("_closing")) || !(s__buffer = PyUnicode_InternFromString("_buffer")))
        return NULL;
    return PyModule_Create(&module_def);
}
