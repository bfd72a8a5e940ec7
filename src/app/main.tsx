import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startSite } from '../site/register';
import { App } from './App';
import './app.css';

startSite();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
