/** Entry point: global styles, the app shell, and one handler for failed API calls nobody awaited. */
import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { ApiError } from './lib/api/client';

// A failed API call has already been told to the user (toast, or the session-expired redirect) by the client's
// failure listeners; a button or page load that did not catch it needs no second report.
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof ApiError) event.preventDefault();
});

mount(App, { target: document.getElementById('app')! });
