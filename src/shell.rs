//! The composition root of the GUI: each frame, the app polls its jobs, the panels
//! (`ui::app_ui`) read the state and return commands, and the app applies them. The only
//! place where `app` and `ui` meet, so neither imports the other's upper layer.

use crate::app::EcgApp;

impl EcgApp {
    /// One frame of UI: draw panels, collect commands, apply them.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        self.frame_with(ui, crate::ui::app_ui);
    }
}

impl eframe::App for EcgApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn on_exit(&mut self) {
        self.save_settings();
    }
}
