/* POSIX threads from C through wasi-libc's pthreads (wasi-threads): a
 * mutex, a condition variable, pthread_once, thread-specific data with
 * destructors, _Thread_local, a barrier, a semaphore and detached
 * threads. Every line it prints is the same natively and in wasm. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS 4
#define ROUNDS 20000
#define ITEMS 1000
#define SLOTS 8

static void check(int err, const char *what) {
  if (err != 0) {
    printf("%s failed: %d\n", what, err);
    exit(1);
  }
}

/* A counter under a mutex; each worker returns its index times two. */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add(void *arg) {
  long n = (long)arg;
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&counter_lock);
    counter += n;
    pthread_mutex_unlock(&counter_lock);
  }
  return (void *)(n * 2);
}

/* A bounded queue: one producer, WORKERS consumers. */
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static int queue[SLOTS];
static int head, count, done;
static long consumed_sum, consumed_count;

static void *produce(void *arg) {
  (void)arg;
  for (int i = 1; i <= ITEMS; i++) {
    pthread_mutex_lock(&queue_lock);
    while (count == SLOTS)
      pthread_cond_wait(&not_full, &queue_lock);
    queue[(head + count) % SLOTS] = i;
    count++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&queue_lock);
  }
  pthread_mutex_lock(&queue_lock);
  done = 1;
  pthread_cond_broadcast(&not_empty);
  pthread_mutex_unlock(&queue_lock);
  return NULL;
}

static void *consume(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&queue_lock);
    while (count == 0 && !done)
      pthread_cond_wait(&not_empty, &queue_lock);
    if (count == 0) {
      pthread_mutex_unlock(&queue_lock);
      return NULL;
    }
    int item = queue[head];
    head = (head + 1) % SLOTS;
    count--;
    consumed_sum += item;
    consumed_count++;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&queue_lock);
  }
}

/* pthread_once, thread-specific data and _Thread_local. */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static pthread_key_t key;
static int destructor_runs;
static pthread_mutex_t destructor_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int thread_local_value;
static pthread_barrier_t barrier;
static int serial_threads;

static void destroy(void *value) {
  pthread_mutex_lock(&destructor_lock);
  destructor_runs++;
  pthread_mutex_unlock(&destructor_lock);
  free(value);
}

static void init_once(void) {
  once_runs++;
  check(pthread_key_create(&key, destroy), "pthread_key_create");
}

static void *locals(void *arg) {
  long n = (long)arg;
  pthread_once(&once, init_once);
  int *mine = malloc(sizeof *mine);
  *mine = (int)n * 10;
  check(pthread_setspecific(key, mine), "pthread_setspecific");
  thread_local_value = (int)n;
  /* Every thread has set its values before any reads them back. */
  int r = pthread_barrier_wait(&barrier);
  if (r == PTHREAD_BARRIER_SERIAL_THREAD) {
    pthread_mutex_lock(&destructor_lock);
    serial_threads++;
    pthread_mutex_unlock(&destructor_lock);
  } else {
    check(r, "pthread_barrier_wait");
  }
  int ok = *(int *)pthread_getspecific(key) == (int)n * 10 && thread_local_value == (int)n;
  return (void *)(long)ok;
}

/* Detached threads that post a semaphore. */
static sem_t finished;

static void *detached(void *arg) {
  (void)arg;
  sem_post(&finished);
  return NULL;
}

int main(void) {
  pthread_t threads[WORKERS];
  long returned = 0;
  for (long i = 0; i < WORKERS; i++)
    check(pthread_create(&threads[i], NULL, add, (void *)(i + 1)), "pthread_create");
  for (int i = 0; i < WORKERS; i++) {
    void *r;
    check(pthread_join(threads[i], &r), "pthread_join");
    returned += (long)r;
  }
  printf("mutex: counter %ld, joined results %ld\n", counter, returned);

  pthread_t producer;
  check(pthread_create(&producer, NULL, produce, NULL), "pthread_create");
  for (int i = 0; i < WORKERS; i++)
    check(pthread_create(&threads[i], NULL, consume, NULL), "pthread_create");
  check(pthread_join(producer, NULL), "pthread_join");
  for (int i = 0; i < WORKERS; i++)
    check(pthread_join(threads[i], NULL), "pthread_join");
  printf("condvar: %ld items, sum %ld\n", consumed_count, consumed_sum);

  check(pthread_barrier_init(&barrier, NULL, WORKERS), "pthread_barrier_init");
  long all_ok = 1;
  for (long i = 0; i < WORKERS; i++)
    check(pthread_create(&threads[i], NULL, locals, (void *)(i + 1)), "pthread_create");
  for (int i = 0; i < WORKERS; i++) {
    void *r;
    check(pthread_join(threads[i], &r), "pthread_join");
    all_ok &= (long)r;
  }
  pthread_barrier_destroy(&barrier);
  printf("once: %d run; thread-specific and _Thread_local values %s; %d destructors; "
         "%d serial thread at the barrier\n",
         once_runs, all_ok ? "kept apart" : "MIXED UP", destructor_runs, serial_threads);

  check(sem_init(&finished, 0, 0), "sem_init");
  pthread_attr_t attr;
  check(pthread_attr_init(&attr), "pthread_attr_init");
  check(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED), "pthread_attr_setdetachstate");
  for (int i = 0; i < WORKERS; i++) {
    pthread_t t;
    check(pthread_create(&t, &attr, detached, NULL), "pthread_create");
  }
  for (int i = 0; i < WORKERS; i++)
    sem_wait(&finished);
  printf("detached: %d posted the semaphore\n", WORKERS);
  return 0;
}
