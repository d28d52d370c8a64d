package org.vit4j.backend;

/**
 * How a backend is opened, beyond which backend and device ({@link Backends#open(String, int, BackendOptions)}).
 * A backend ignores an option that means nothing to it.
 *
 * @param noGraph run every pass op by op instead of recording it as a graph and replaying it (CUDA):
 *                slower, but each op runs, and fails, where it is queued
 */
public record BackendOptions(boolean noGraph) {
    public static final BackendOptions DEFAULT = new BackendOptions(false);
}
