import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';

import { ProvenanceBadge } from './badge';
import { KernelBridge } from './comm';
import { displayedFiles } from './model';
import { approvePendingPolicy } from './policy';
import { ProvenanceSidebar } from './sidebar';
import { signPanel } from './sign';
import { ProvenanceVerifier } from './verifier';

const PLUGIN_ID = 'jupyter-sigstore:plugin';

export namespace CommandIDs {
  export const sign = 'jupyter-sigstore:sign';
  export const verify = 'jupyter-sigstore:verify';
  export const showSidebar = 'jupyter-sigstore:show-sidebar';
}

const SHIELD_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16"><path class="jp-icon3" fill="#616161" d="M12 2 4 5v6c0 5 3.4 9.7 8 11 4.6-1.3 8-6 8-11V5l-8-3zm-1.2 14.2-3.5-3.5 1.4-1.4 2.1 2.1 4.9-4.9 1.4 1.4-6.3 6.3z"/></svg>';

export const shieldIcon = new LabIcon({
  name: 'jupyter-sigstore:shield',
  svgstr: SHIELD_SVG
});

interface ISettings {
  autoVerify: boolean;
  instance: string;
  defaultOutputs: string[];
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Verify Sigstore provenance of notebooks on open; sign them from a sidebar.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    ISettingRegistry,
    ICommandPalette,
    ILayoutRestorer,
    IDefaultFileBrowser
  ],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    registry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    browser: IDefaultFileBrowser | null
  ) => {
    const settings: ISettings = {
      autoVerify: true,
      instance: 'server',
      defaultOutputs: []
    };
    if (registry) {
      try {
        const loaded = await registry.load(PLUGIN_ID);
        const update = () => {
          settings.autoVerify = loaded.get('autoVerify').composite as boolean;
          settings.instance = loaded.get('instance').composite as string;
          settings.defaultOutputs =
            (loaded.get('defaultOutputs').composite as string[]) ?? [];
        };
        update();
        loaded.changed.connect(update);
      } catch (error) {
        Notification.warning(
          `jupyter-sigstore: settings not loaded (${(error as Error).message})`
        );
      }
    }
    const verifier = new ProvenanceVerifier({
      contents: app.serviceManager.contents,
      autoVerify: () => settings.autoVerify,
      instance: () => settings.instance
    });

    const current = (): NotebookPanel | null => tracker.currentWidget;
    const showSidebar = () => {
      app.shell.activateById(sidebar.id);
    };
    const sign = async (panel: NotebookPanel | null) => {
      if (!panel) {
        return;
      }
      showSidebar();
      const selected = browser
        ? Array.from(browser.selectedItems()).map(i => i.path)
        : [];
      const report = verifier.stateOf(panel).response?.report ?? null;
      const signed = await signPanel(panel, {
        contents: app.serviceManager.contents,
        defaultOutputs: settings.defaultOutputs,
        selectedPaths: selected,
        displayed: displayedFiles(panel.context.localPath, report),
        instance: settings.instance
      });
      if (signed && !settings.autoVerify) {
        void verifier.verify(panel);
      }
    };

    const sidebar = new ProvenanceSidebar(tracker, verifier, {
      verify: panel => void verifier.verify(panel),
      checkRemote: panel => void verifier.verify(panel, { remote: true }),
      sign: panel => void sign(panel),
      approvePolicy: async (panel, pending) => {
        if (await approvePendingPolicy(pending)) {
          await verifier.verify(panel);
        }
      }
    });
    sidebar.title.icon = shieldIcon;
    app.shell.add(sidebar, 'right', { rank: 650 });
    if (restorer) {
      restorer.add(sidebar, sidebar.id);
    }

    const bridge = new KernelBridge({
      instance: () => settings.instance,
      panelsFor: kernel =>
        tracker.filter(
          p => p.sessionContext.session?.kernel === kernel && !!p.model
        )
    });

    const watch = (panel: NotebookPanel) => {
      verifier.track(panel);
      bridge.watch(panel);
      const badge = new ProvenanceBadge(panel, verifier, showSidebar);
      panel.toolbar.insertItem(10, 'sigstore-provenance', badge);
    };
    tracker.forEach(watch);
    tracker.widgetAdded.connect((_, panel) => watch(panel));

    app.commands.addCommand(CommandIDs.sign, {
      label: 'Sign Notebook with Sigstore…',
      caption: 'Sign this notebook and chosen data outputs with Sigstore',
      icon: shieldIcon,
      isEnabled: () => !!current(),
      execute: () => sign(current())
    });
    app.commands.addCommand(CommandIDs.verify, {
      label: 'Verify Notebook Provenance',
      caption: 'Verify the Sigstore signatures of this notebook now',
      isEnabled: () => !!current(),
      execute: async () => {
        const panel = current();
        if (panel) {
          await verifier.verify(panel);
          showSidebar();
        }
      }
    });
    app.commands.addCommand(CommandIDs.showSidebar, {
      label: 'Show Sigstore Provenance',
      execute: showSidebar
    });
    if (palette) {
      for (const command of [
        CommandIDs.sign,
        CommandIDs.verify,
        CommandIDs.showSidebar
      ]) {
        palette.addItem({ command, category: 'Sigstore' });
      }
    }
    app.contextMenu.addItem({
      command: CommandIDs.sign,
      selector: '.jp-Notebook',
      rank: 90
    });
    app.contextMenu.addItem({
      command: CommandIDs.verify,
      selector: '.jp-Notebook',
      rank: 91
    });
  }
};

export default plugin;
